"""Small models built from each package's own classes, random weights, on the CPU.

Nothing of the packages is copied here: each builder writes the config files and weights the
package's own loaders read (F5, pocket-tts: so the engine's real `_build` path runs on them),
or builds the package's classes with a small configuration (Chatterbox, whose loader builds
the released 0.5B sizes with no way to ask for less).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml

# Text a tokenizer is trained on: every character the tests speak.
ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,!?'-"
TRAINING_TEXT = [
    "Hello world. This is a tiny test of a speech model.",
    "The quick brown fox jumps over the lazy dog!",
    "Is it ready? Yes, it is ready when you are.",
    ALPHABET,
]


def f5_files(folder: Path, seed: int = 0) -> dict[str, str]:
    """A small F5 model config, its random checkpoint and a random Vocos, as files.

    Returns the NeuralSettings values that point the engine at them.
    """
    import safetensors.torch
    import torch
    from f5_tts.model import DiT

    torch.manual_seed(seed)
    arch = {"dim": 32, "depth": 1, "heads": 2, "dim_head": 16, "ff_mult": 1, "text_dim": 16}
    arch |= {"conv_layers": 1, "text_mask_padding": True}
    mel = {"target_sample_rate": 24000, "n_mel_channels": 100, "hop_length": 256}
    mel |= {"win_length": 1024, "n_fft": 1024, "mel_spec_type": "vocos"}
    config = {"model": {"name": "tiny", "backbone": "DiT", "arch": arch, "mel_spec": mel}}
    config_path = folder / "f5_tiny.yaml"
    config_path.write_text(yaml.safe_dump(config))
    model = _random_f5(DiT, arch)
    checkpoint = folder / "f5_tiny.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(tensors, checkpoint)
    vocoder = folder / "vocos"
    vocoder.mkdir()
    _random_vocos(vocoder)
    return {
        "f5_model": str(config_path),
        "f5_checkpoint": str(checkpoint),
        "f5_vocoder_dir": str(vocoder),
        "f5_nfe_steps": "2",
    }


def _random_f5(dit: Any, arch: dict[str, Any]) -> Any:
    """The package's CFM around a small DiT, with the package's vocabulary, random weights."""
    from importlib.resources import files

    import torch
    from f5_tts.model import CFM
    from f5_tts.model.utils import get_tokenizer

    vocab, size = get_tokenizer(str(files("f5_tts").joinpath("infer/examples/vocab.txt")), "custom")
    mel = {"n_fft": 1024, "hop_length": 256, "win_length": 1024, "n_mel_channels": 100}
    mel |= {"target_sample_rate": 24000, "mel_spec_type": "vocos"}
    model = CFM(
        transformer=dit(**arch, text_num_embeds=size, mel_dim=100),
        mel_spec_kwargs=mel,
        vocab_char_map=vocab,
    )
    with torch.no_grad():  # a little more than init's scale, so the output is not silence
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.05)
    return model


def _random_vocos(folder: Path) -> None:
    import torch
    from vocos import Vocos

    config = {
        "feature_extractor": {
            "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
            "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100},
        },
        "backbone": {
            "class_path": "vocos.models.VocosBackbone",
            "init_args": {
                "input_channels": 100,
                "dim": 16,
                "intermediate_dim": 32,
                "num_layers": 1,
            },
        },
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": {"dim": 16, "n_fft": 1024, "hop_length": 256, "padding": "center"},
        },
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    vocos = Vocos.from_hparams(str(folder / "config.yaml"))
    torch.save(vocos.state_dict(), folder / "pytorch_model.bin")


def sentencepiece_model(path: Path, vocab: int = 64) -> int:
    """A character-level SentencePiece model trained here on `TRAINING_TEXT`; its size."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TRAINING_TEXT * 10),
        model_writer=buf,
        vocab_size=vocab,
        model_type="char",
        character_coverage=1.0,
        minloglevel=2,
    )
    path.write_bytes(buf.getvalue())
    return int(spm.SentencePieceProcessor(model_file=str(path)).vocab_size())


def pocket_config(folder: Path) -> Path:
    """A pocket-tts YAML config for a ~50k-parameter model with a tokenizer trained here.

    No weights_path: the package builds the model with its random initialisation (and says so).
    """
    tokenizer = folder / "tokenizer.model"
    n_bins = sentencepiece_model(tokenizer)
    seanet = {"dimension": 16, "channels": 1, "n_filters": 4, "n_residual_layers": 1}
    seanet |= {"ratios": [6, 5, 4], "kernel_size": 7, "residual_kernel_size": 3}
    seanet |= {"last_kernel_size": 3, "dilation_base": 2, "pad_mode": "constant", "compress": 2}
    config = {
        "flow_lm": {
            "dtype": "float32",
            "insert_bos_before_voice": True,
            "flow": {"depth": 1, "dim": 16},
            "transformer": {
                "d_model": 32,
                "hidden_scale": 1,
                "max_period": 10000,
                "num_heads": 2,
                "num_layers": 1,
            },
            "lookup_table": {
                "dim": 32,
                "n_bins": n_bins,
                "tokenizer": "sentencepiece",
                "tokenizer_path": str(tokenizer),
            },
        },
        "mimi": {
            "dtype": "float32",
            "sample_rate": 24000,
            "inner_dim": 8,
            "outer_dim": 16,
            "channels": 1,
            "frame_rate": 12.5,
            "seanet": seanet,
            "transformer": {
                "d_model": 16,
                "num_heads": 2,
                "num_layers": 1,
                "layer_scale": 0.01,
                "context": 25,
                "dim_feedforward": 32,
                "input_dimension": 16,
                "output_dimensions": [16],
            },
            "quantizer": {"dimension": 8, "output_dimension": 16},
        },
    }
    path = folder / "pocket_tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def chatterbox_tokenizer(path: Path) -> Path:
    """A character-level tokenizer.json with Chatterbox's special tokens, built here."""
    from chatterbox.models.tokenizers.tokenizer import SPECIAL_TOKENS
    from tokenizers import Tokenizer, models

    chars = sorted(set(ALPHABET) - {" "})
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *chars])}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    tokenizer.save(str(path))
    return path


def chatterbox_model(folder: Path, seed: int = 0) -> Any:
    """ChatterboxTTS from the package's classes: a one-layer T3 (a small Llama config under
    the package's own config table), the released S3Gen and voice encoder shapes, random."""
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS
    from chatterbox.models.t3.modules.t3_config import T3Config
    from chatterbox.models.tokenizers import EnTokenizer
    from chatterbox.models.voice_encoder import VoiceEncoder
    from chatterbox.tts import ChatterboxTTS

    torch.manual_seed(seed)
    small = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1}
    small |= {"num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 32}
    LLAMA_CONFIGS.setdefault("voxhub_tiny", {**LLAMA_CONFIGS["Llama_520M"], **small})
    hp = T3Config.english_only()
    hp.llama_config_name = "voxhub_tiny"
    hp.use_perceiver_resampler = False  # the package's perceiver is 1024 wide, fixed
    tokenizer = EnTokenizer(str(chatterbox_tokenizer(folder / "tokenizer.json")))
    return ChatterboxTTS(
        T3(hp).eval(), _small_s3gen(S3Gen()), VoiceEncoder().eval(), tokenizer, "cpu"
    )


def _small_s3gen(s3gen: Any) -> Any:
    """S3Gen builds its vocoder and flow decoder at the released sizes (half a minute a second
    of audio on two cores); the same classes, narrower, stand in for those two parts."""
    from chatterbox.models.s3gen.decoder import ConditionalDecoder
    from chatterbox.models.s3gen.f0_predictor import ConvRNNF0Predictor
    from chatterbox.models.s3gen.hifigan import HiFTGenerator

    s3gen.mel2wav = HiFTGenerator(
        sampling_rate=24_000,
        base_channels=16,
        upsample_rates=[8, 5, 3],
        upsample_kernel_sizes=[16, 11, 7],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1]],
        source_resblock_kernel_sizes=[7, 7, 11],
        source_resblock_dilation_sizes=[[1], [1], [1]],
        f0_predictor=ConvRNNF0Predictor(cond_channels=16),
    )
    s3gen.flow.decoder.estimator = ConditionalDecoder(
        in_channels=320,
        out_channels=80,
        causal=True,
        channels=[32],
        dropout=0.0,
        attention_head_dim=16,
        n_blocks=1,
        num_mid_blocks=1,
        num_heads=2,
        act_fn="gelu",
    )
    return s3gen.eval()
