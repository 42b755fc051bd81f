"""Load Resemble's Perth (implicit PerthNet) offline from its wheel, or fail with the reason.

Perth 1.0.1 is fragile to import (../shared/RELIABILITY.md §0.1): its wheel declares no
dependencies, `perth.perth_net` imports `pkg_resources` (removed in setuptools 81) only to find
its own `pretrained/` folder, the network module imports `torchaudio` (no wheel exists for our
torch 2.13), and `perth/__init__.py` swallows any ImportError and sets
`perth.PerthImplicitWatermarker = None`. So voxhub never asks the package for a watermarker:

- It imports the network module `perth.perth_net.perth_net_implicit.model.perth_net` directly,
  so an ImportError propagates (and is reported with the missing module's name) instead of
  becoming a silent None.
- For that one import it puts two things in `sys.modules`: a `pkg_resources` holding only
  `resource_filename` (the one function Perth calls, answered from the package's own path),
  and `torchaudio` / `torchaudio.transforms` from `torchaudio_standin` (plain torch.stft/istft).
  Each is added only where no module of that name is already loaded, so a real one that
  another component imported is never shadowed, and each is removed as soon as the import is
  done: Perth's modules keep their references, nobody else sees the stand-ins. This is the
  smallest change that leaves Perth's code untouched (none of it is copied here) and needs no
  venv-wide pin: it works with setuptools >= 81 as well.
- It reads the hyper-parameters and the checkpoint from the wheel's folder itself, checks the
  checkpoint's sha256 against the one measured here, and loads it with `weights_only=True`
  and `strict=True` (which also checks the stand-in's buffers against the stored ones).
  Perth's own loader would create folders and an id file in site-packages, print, and turn a
  missing checkpoint into an `assert` that `python -O` removes.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import io
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxhub.safety import torchaudio_standin

PERTH_DIST = "resemble-perth"
PERTH_VERSION = "1.0.1"
# The one checkpoint in resemble-perth 1.0.1 (implicit run, step 250000).
CHECKPOINT = "perth_net_250000.pth.tar"
CHECKPOINT_SHA256 = "a15bce457ebc53ce5e6c9c3f11df78cf7ee2bf9cdab0a798902135b4c4027670"
_NET_MODULE = "perth.perth_net.perth_net_implicit.model.perth_net"
_UTILS_MODULE = "perth.perth_net.perth_net_implicit.utils"
_CONFIG_MODULE = "perth.perth_net.perth_net_implicit.config"

# sys.modules is process-wide: one load at a time.
_import_lock = threading.Lock()


class WatermarkUnavailable(RuntimeError):
    """The watermark cannot be applied or detected; voxhub must not serve audio without it."""


@dataclass(frozen=True)
class PerthModel:
    """The loaded network and the Perth helpers the watermarker calls."""

    net: Any  # perth's PerthNet (torch.nn.Module), in eval mode, gradients off
    hp: Any  # perth's PerthConfig
    magphase_to_cx: Any  # perth's utils.magphase_to_cx(hp, magspec, phase)
    weights: Path
    step: int

    @property
    def sample_rate(self) -> int:
        return int(self.hp.sample_rate)


def default_weights_dir() -> Path:
    """The wheel's `perth/perth_net/pretrained/implicit`, found without importing Perth."""
    try:
        version = importlib.metadata.version(PERTH_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise WatermarkUnavailable(
            f"{PERTH_DIST}=={PERTH_VERSION} is not installed (it ships the watermark's weights)"
        ) from None
    if version != PERTH_VERSION:
        raise WatermarkUnavailable(
            f"{PERTH_DIST} {version} is installed; voxhub's watermark is measured with "
            f"{PERTH_VERSION} (install {PERTH_DIST}=={PERTH_VERSION})"
        )
    spec = importlib.util.find_spec("perth")
    if spec is None or not spec.submodule_search_locations:
        raise WatermarkUnavailable(f"{PERTH_DIST} is installed but its `perth` package is missing")
    return (
        Path(next(iter(spec.submodule_search_locations))) / "perth_net" / "pretrained" / "implicit"
    )


def load_perth(weights_dir: Path | None = None) -> PerthModel:
    """Import Perth's network, load its checkpoint and check it; raise WatermarkUnavailable."""
    folder = weights_dir if weights_dir is not None else default_weights_dir()
    modules = _import_perth()
    import torch
    import yaml

    config_cls = modules[_CONFIG_MODULE].PerthConfig
    hparams = folder / "hparams.yaml"
    checkpoint = folder / CHECKPOINT
    try:
        hp = config_cls(**yaml.safe_load(hparams.read_text(encoding="utf-8")))
        blob = checkpoint.read_bytes()
    except (OSError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise WatermarkUnavailable(f"Perth's weights cannot be read from {folder}: {exc}") from exc
    digest = hashlib.sha256(blob).hexdigest()
    if digest != CHECKPOINT_SHA256:
        raise WatermarkUnavailable(
            f"Perth's checkpoint {checkpoint} is not the one voxhub measured "
            f"(sha256 {digest[:16]}..., expected {CHECKPOINT_SHA256[:16]}...): reinstall "
            f"{PERTH_DIST}=={PERTH_VERSION}"
        )
    try:
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        net = modules[_NET_MODULE].PerthNet(hp)
        net.load_state_dict(state["model"], strict=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean the same here
        raise WatermarkUnavailable(
            f"Perth's network cannot be built from {checkpoint}: {exc}"
        ) from exc
    net.eval()
    net.requires_grad_(False)
    return PerthModel(
        net=net,
        hp=hp,
        magphase_to_cx=modules[_UTILS_MODULE].magphase_to_cx,
        weights=checkpoint,
        step=int(state.get("step", 0)),
    )


def _import_perth() -> dict[str, types.ModuleType]:
    with _import_lock, _standins():
        try:
            names = (_NET_MODULE, _UTILS_MODULE, _CONFIG_MODULE)
            return {name: importlib.import_module(name) for name in names}
        except ImportError as exc:
            missing = exc.name or str(exc)
            raise WatermarkUnavailable(
                f"Perth's network cannot be imported: module {missing!r} is missing ({exc})"
            ) from exc


@contextmanager
def _standins() -> Iterator[None]:
    """`pkg_resources` and `torchaudio` stand-ins in sys.modules for the `with` block only."""
    added = {"pkg_resources": _pkg_resources_shim(), **torchaudio_standin.modules()}
    # A name already present (a real module, or None: deliberately unimportable) is left alone.
    mine = {name: module for name, module in added.items() if name not in sys.modules}
    sys.modules.update(mine)
    try:
        yield
    finally:
        for name, module in mine.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def _pkg_resources_shim() -> types.ModuleType:
    shim = types.ModuleType("pkg_resources", "voxhub: resource_filename only, for Perth's import")

    def resource_filename(package: str, resource: str) -> str:
        # Called by perth.perth_net while it is being imported, so it is in sys.modules.
        module = sys.modules[package]
        return str(Path(module.__file__ or "").parent / resource)

    shim.resource_filename = resource_filename  # type: ignore[attr-defined]
    return shim
