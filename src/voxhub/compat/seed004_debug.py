"""Seed 004's `GET /api/debug/directories`, for admins: where voxhub keeps each kind of file.

Seed 004 names four folders; voxhub keeps the same files in its blob store. Paths are given
relative to voxhub's home and only when under it: the listing never shows the machine's layout
beyond voxhub's own folder (no absolute path, no user's home, no bucket).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter

from voxhub.accounts.deps import AdminPrincipal
from voxhub.api.deps import ContainerDep
from voxhub.compat.seed004_file_schemas import DebugDirectories, DirectoryStatus
from voxhub.compat.seed004_uploads import UPLOADS
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.security.deps import limited

router = APIRouter(tags=["compat: seed 004"])

# Seed 004's folder -> where voxhub's blob keys for those files live (a glob of the key).
FOLDERS = {
    "voice_profiles": "voices/*/profiles",
    "voice_samples": "voices/*/refs",
    "tts_generated": "voices/*/generations",
    "temp_voice": UPLOADS,
}


def under_home(home: Path, path: Path) -> str | None:
    """`path` relative to `home` when it is inside it, else None."""
    try:
        return path.resolve().relative_to(home.resolve()).as_posix() or "."
    except ValueError:
        return None


def _belongs(key: str, folder: str) -> bool:
    if "*" not in folder:
        return key.startswith(folder + "/")
    head, tail = folder.split("/*/")
    parts = key.split("/")
    return len(parts) > 3 and parts[0] == head and parts[2] == tail


async def _status(c: Container, keys: list[str]) -> dict[str, DirectoryStatus]:
    store = c.settings.storage.blob_store
    home = c.settings.home
    root = c.settings.resolved_blob_dir if store == "local" else None
    rel = under_home(home, root) if root is not None else None
    location = store if root is None else ("home" if rel is not None else "outside_home")
    out = {}
    for name, folder in FOLDERS.items():
        files = sum(1 for k in keys if _belongs(k, folder))
        path = f"{rel}/{folder}" if rel is not None else None
        exists = files > 0  # a blob store has no empty folders: one exists while it holds files
        out[name] = DirectoryStatus(path=path, location=location, exists=exists, file_count=files)
    return out


@router.get(
    "/api/debug/directories", response_model=DebugDirectories, dependencies=[limited("default")]
)
async def debug_directories(c: ContainerDep, _: AdminPrincipal) -> DebugDirectories:
    """Each of seed 004's folders: whether it exists, how many files it holds (admins only)."""
    keys = await c.blobs.list("")
    return DebugDirectories(
        directories=await _status(c, keys),
        current_working_directory=under_home(c.settings.home, Path(os.getcwd())),
        timestamp=utcnow().isoformat(),
    )
