"""The three `torchaudio.transforms` classes Perth's network module imports, on plain torch.

Why a stand-in: no torchaudio wheel exists for torch 2.13 (the newest pins torch 2.11 and its
compiled extension fails to load against 2.13), and voxhub keeps torch==2.13.0. Perth only
needs the Python-level transforms, which are thin wrappers over `torch.stft` / `torch.istft`.

Same module shapes as torchaudio (same constructor arguments, same registered buffers with the
same names), because Perth's checkpoint stores those buffers (`ap.spectrogram.window`,
`ap.inv_spectrogram.window`, `ap.stretch.phase_advance`) and `load_state_dict(strict=True)`
therefore checks every name and shape here against the weights file.

`TimeStretch` is constructed by Perth's `AudioProcessor` but only called from training-time
attack code that is commented out in Perth 1.0.1; watermarking and detection never reach it.
Its forward raises, so a future Perth that starts calling it fails loudly instead of
producing wrong audio (tests/safety/test_perth_runtime.py shows the paths voxhub runs avoid it).

`modules()` builds the `sys.modules` entries (`torchaudio`, `torchaudio.transforms`) that
`perth_runtime` installs only while Perth is imported.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable

import torch
from torch import nn

WindowFn = Callable[..., torch.Tensor]


class Spectrogram(nn.Module):
    """torchaudio.transforms.Spectrogram for the arguments Perth passes (power=None: complex)."""

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: WindowFn = torch.hann_window,
        power: float | None = 2.0,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
    ) -> None:
        super().__init__()
        _supported(pad=pad, normalized=normalized, onesided=onesided)
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))
        self.window: torch.Tensor
        self.power = power
        self.center = center
        self.pad_mode = pad_mode

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        shape = waveform.size()
        spec = torch.stft(
            waveform.reshape(-1, shape[-1]),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=self.center,
            pad_mode=self.pad_mode,
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        spec = spec.reshape(shape[:-1] + spec.shape[-2:])
        if self.power is None:
            return spec
        return spec.abs().pow(self.power)


class InverseSpectrogram(nn.Module):
    """torchaudio.transforms.InverseSpectrogram: complex spectrogram back to a waveform."""

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn: WindowFn = torch.hann_window,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
    ) -> None:
        super().__init__()
        _supported(pad=pad, normalized=normalized, onesided=onesided)
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))
        self.window: torch.Tensor
        self.center = center

    def forward(self, spectrogram: torch.Tensor, length: int | None = None) -> torch.Tensor:
        if not spectrogram.is_complex():
            raise ValueError("Expected a complex spectrogram")
        shape = spectrogram.size()
        waveform = torch.istft(
            spectrogram.reshape(-1, shape[-2], shape[-1]),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=self.center,
            normalized=False,
            onesided=True,
            length=length,
            return_complex=False,
        )
        return waveform.reshape(shape[:-2] + waveform.shape[-1:])


class TimeStretch(nn.Module):
    """Holds torchaudio's `phase_advance` buffer (it is in Perth's checkpoint); never runs."""

    def __init__(
        self, hop_length: int | None = None, n_freq: int = 201, fixed_rate: float | None = None
    ) -> None:
        super().__init__()
        n_fft = (n_freq - 1) * 2
        hop = hop_length if hop_length is not None else n_fft // 2
        self.register_buffer("phase_advance", torch.linspace(0, math.pi * hop, n_freq)[..., None])
        self.fixed_rate = fixed_rate

    def forward(self, *_args: object, **_kwargs: object) -> torch.Tensor:
        raise NotImplementedError(
            "voxhub's torchaudio stand-in has no TimeStretch: Perth's watermarking and detection "
            "do not call it (only its commented-out training attacks did)"
        )


def _supported(*, pad: int, normalized: bool | str, onesided: bool) -> None:
    # Perth passes none of these; refuse them rather than half-implement torchaudio.
    if pad or normalized or not onesided:
        raise NotImplementedError(
            "voxhub's torchaudio stand-in supports pad=0, normalized=False, onesided=True only"
        )


def modules() -> dict[str, types.ModuleType]:
    """Fresh `torchaudio` and `torchaudio.transforms` modules holding the three classes."""
    package = types.ModuleType("torchaudio", "voxhub's stand-in for torchaudio (Perth only)")
    package.__path__ = []  # a package, so `torchaudio.transforms` resolves as a submodule
    transforms = types.ModuleType("torchaudio.transforms")
    for cls in (Spectrogram, InverseSpectrogram, TimeStretch):
        setattr(transforms, cls.__name__, cls)
    package.transforms = transforms  # type: ignore[attr-defined]
    return {"torchaudio": package, "torchaudio.transforms": transforms}
