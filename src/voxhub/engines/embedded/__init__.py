"""The embedded engine: Kokoro-82M (int8 ONNX) + espeak-ng phonemes, fully offline on the CPU."""

from voxhub.engines.embedded.engine import EmbeddedEngine

__all__ = ["EmbeddedEngine"]
