"""Perth loads offline from its wheel through voxhub's stand-ins, and every way it can be broken
stops start-up with a message naming the cause (never a silent no-op watermark)."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO
from voxhub.safety import Watermarker, WatermarkUnavailable, self_test, startup_watermarker
from voxhub.safety import torchaudio_standin as standin
from voxhub.safety.perth_runtime import CHECKPOINT, default_weights_dir


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, so Perth's import really runs (this process may have it cached)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_loads_the_wheels_checkpoint_with_the_standins(watermarker: Watermarker):
    model = watermarker.model
    assert model.step == 250_000
    assert model.weights == default_weights_dir() / CHECKPOINT
    assert "site-packages" in str(model.weights)
    # strict=True loaded the checkpoint's own buffers into the stand-in's modules: they hold
    # exactly what torchaudio's constructors would have made.
    ap = model.net.ap
    assert isinstance(ap.spectrogram, standin.Spectrogram)
    assert torch.equal(ap.spectrogram.window, torch.hann_window(2048))
    assert torch.equal(ap.inv_spectrogram.window, torch.hann_window(2048))
    # TimeStretch only exists for its buffer; its forward raises, so the paths voxhub calls
    # (apply, detect: every test here) cannot be using it.
    with pytest.raises(NotImplementedError):
        ap.stretch(torch.zeros(1025, 4, dtype=torch.complex64), 1.1)
    # The stand-ins were only there for Perth's import.
    assert getattr(sys.modules.get("torchaudio"), "transforms", None) is not standin.modules()
    assert "voxhub" not in (getattr(sys.modules.get("torchaudio"), "__doc__", "") or "")


def test_standin_stft_round_trip():
    x = torch.randn(32_000)
    spec = standin.Spectrogram(n_fft=2048, hop_length=320, power=None)(x)
    assert spec.shape == (1025, 101) and spec.is_complex()
    back = standin.InverseSpectrogram(n_fft=2048, hop_length=320)(spec, length=len(x))
    assert torch.allclose(back, x, atol=1e-4)


def test_startup_passes_and_reports_scores():
    watermarker = startup_watermarker()
    scores = self_test(watermarker)
    assert min(v for k, v in scores.items() if k.endswith(" marked")) >= 0.9
    assert max(v for k, v in scores.items() if k.endswith("unmarked")) <= 0.1


def test_startup_without_pkg_resources():
    """setuptools >= 81 has no pkg_resources: Perth's one call to it is answered by the shim."""
    result = _run(
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pkg_resources': raise ImportError('blocked', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from voxhub.safety import startup_watermarker\n"
        "startup_watermarker()\n"
        "assert 'pkg_resources' not in sys.modules and 'torchaudio' not in sys.modules\n"
        "print('started')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_startup_refuses_without_the_torchaudio_standin():
    """Stand-in gone and no torchaudio: start-up raises and names it, where plain Perth
    would have set PerthImplicitWatermarker = None and carried on."""
    result = _run(
        "import sys\n"
        "sys.modules['torchaudio'] = None  # not importable, whatever is installed\n"
        "from voxhub.safety import torchaudio_standin\n"
        "torchaudio_standin.modules = lambda: {}\n"
        "from voxhub.safety import startup_watermarker\n"
        "startup_watermarker()\n"
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("voxhub.safety.perth_runtime.WatermarkUnavailable:"), result.stderr
    assert "module 'torchaudio.transforms' is missing" in last


def _weights_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "implicit"
    folder.mkdir()
    shutil.copy(default_weights_dir() / "hparams.yaml", folder)
    return folder


def test_startup_refuses_missing_weights(tmp_path: Path):
    folder = _weights_copy(tmp_path)
    with pytest.raises(WatermarkUnavailable, match=r"weights cannot be read from .*No such file"):
        startup_watermarker(Watermarker.load(folder))


def test_startup_refuses_damaged_weights(tmp_path: Path):
    folder = _weights_copy(tmp_path)
    blob = (default_weights_dir() / CHECKPOINT).read_bytes()
    (folder / CHECKPOINT).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(WatermarkUnavailable, match="not the one voxhub measured"):
        startup_watermarker(Watermarker.load(folder))


def test_self_test_catches_a_network_that_does_not_mark(watermarker: Watermarker):
    model = copy.deepcopy(watermarker.model)
    last = model.net.encoder.layers[-1].conv
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    with pytest.raises(WatermarkUnavailable, match="mark was not detected in white noise"):
        self_test(Watermarker(model))


def test_self_test_catches_a_detector_that_sees_marks_everywhere(watermarker: Watermarker):
    model = copy.deepcopy(watermarker.model)
    for branch in ("slow_layers", "normal_layers", "fast_layers"):
        with torch.no_grad():
            getattr(model.net.decoder, branch)[-1].conv.bias.fill_(10.0)
    with pytest.raises(WatermarkUnavailable, match="unmarked white noise was detected"):
        self_test(Watermarker(model))
