"""One small edit to the Kokoro ONNX graph, made once when the model is first reassembled.

`f0_scale` ([1], float) multiplies the predicted pitch contour before the decoder and the
harmonic source see it, so a voice can be moved toward its speaker's pitch without a vocoder
round trip (1.0 leaves the model unchanged).

Tried and dropped: capping the leading pad token's duration (the model gives it about 0.3 s
of silence, which `trim_silence` throws away). It saved that much decoder work per call, but
the model needs the lead-in: with a cap of 10 frames or less Whisper lost first words (a
one-off trial on the evaluation sentences in three stock voices; the script was not kept).
Measured again on the evaluation sentences' pieces in af_heart (durations are 25 ms frames; the
lead pad gets 14-16, the trailing one 6-8, and about 22 % of each call's audio is the silence
that is trimmed): a lead cap of 6 or 10 frames cut 0.02-0.23 s of the trimmed speech itself;
a trailing cap of 2 frames saved only 3.4 % of the audio computed and still changed some
pieces' whole waveform, so neither is made.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Bump when the edit changes: the patched file's name carries it.
PATCH_VERSION = "voxhub-2"
_PITCH = "/encoder/F0_proj/Conv_output_0"  # the predicted F0 contour


def patched_path(original: Path) -> Path:
    """Where the patched copy of `original` lives (beside it)."""
    return original.with_name(f"{original.stem}.{PATCH_VERSION}.onnx")


def ensure_patched(original: Path) -> Path:
    """The patched model, written atomically beside `original` the first time."""
    target = patched_path(original)
    if target.exists():
        return target
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(original))
    graph = model.graph
    nodes = list(graph.node)
    scale = helper.make_node("Mul", [_PITCH, "f0_scale"], [f"{_PITCH}_scaled"], name="voxhub_f0")
    _splice(nodes, scale)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.input.append(helper.make_tensor_value_info("f0_scale", TensorProto.FLOAT, [1]))
    onnx.checker.check_model(model)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _splice(nodes: list[Any], node: Any) -> None:
    """Insert `node` after the producer of its first input, and make every other reader of
    that tensor read the node's output instead."""
    tensor, edited = node.input[0], node.output[0]
    producer = next((i for i, n in enumerate(nodes) if tensor in n.output), None)
    if producer is None:
        raise RuntimeError(f"the Kokoro graph has no tensor {tensor!r}; unknown model export")
    for reader in nodes:
        for k, name in enumerate(reader.input):
            if name == tensor:
                reader.input[k] = edited
    nodes.insert(producer + 1, node)
