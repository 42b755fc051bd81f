"""DNSMOS (speechmos): a no-reference estimate of perceived speech quality, 1-5."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

DNSMOS_RATE = 16_000


@dataclass(frozen=True)
class DnsmosScore:
    """Overall, signal and background MOS (P.835) and the P.808 MOS."""

    ovrl: float
    sig: float
    bak: float
    p808: float


class Dnsmos:
    """The speechmos DNSMOS models with our own onnxruntime thread limit; thread-safe."""

    def __init__(self, threads: int = 2) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            import onnxruntime as ort
            from speechmos import dnsmos

            models = Path(dnsmos.__file__).parent / "dnsmos_models"
            opts = ort.SessionOptions()
            # speechmos opens its sessions with every core; this machine is shared.
            opts.intra_op_num_threads = self._threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            model = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)
            model.primary_model_path = str(models / "sig_bak_ovr.onnx")
            model.onnx_sess = ort.InferenceSession(
                model.primary_model_path, sess_options=opts, providers=["CPUExecutionProvider"]
            )
            model.p808_onnx_sess = ort.InferenceSession(
                str(models / "model_v8.onnx"), sess_options=opts, providers=["CPUExecutionProvider"]
            )
            self._model = model
        return self._model

    def load(self) -> None:
        """Load the models now rather than on first use."""
        with self._lock:
            self._load()

    def score(self, samples: np.ndarray, sample_rate: int) -> DnsmosScore:
        """DNSMOS of float32 mono speech. Blocking: call it from a thread."""
        wav = np.asarray(samples, dtype=np.float32)
        if sample_rate != DNSMOS_RATE:
            wav = soxr.resample(wav, sample_rate, DNSMOS_RATE).astype(np.float32)
        if len(wav) == 0:
            raise ValueError("DNSMOS needs some audio")
        # The model wants [-1, 1]; resampling can overshoot a full-scale peak slightly.
        wav = np.clip(wav, -1.0, 1.0)
        with self._lock:
            result = self._load()(wav, DNSMOS_RATE, False)
        return DnsmosScore(
            ovrl=float(result["ovrl_mos"]),
            sig=float(result["sig_mos"]),
            bak=float(result["bak_mos"]),
            p808=float(result["p808_mos"]),
        )
