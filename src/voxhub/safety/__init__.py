"""Safety: the watermark on every output (issue 15). Consent and no-go voices will live here too.

Wiring: call `startup_watermarker()` once at start-up (in a thread; it raises
WatermarkUnavailable and the process must not start), then `Watermarker.apply(samples, rate)`
on every float32 mono output after all post-processing and before encoding, and
`Watermarker.detect` / `is_marked` for detection.
"""

from voxhub.safety.perth_runtime import WatermarkUnavailable
from voxhub.safety.selftest import self_test, startup_watermarker
from voxhub.safety.watermark import DETECT_THRESHOLD, Watermarker, shared_watermarker

__all__ = [
    "DETECT_THRESHOLD",
    "WatermarkUnavailable",
    "Watermarker",
    "self_test",
    "shared_watermarker",
    "startup_watermarker",
]
