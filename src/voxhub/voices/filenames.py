"""Client filenames are metadata only: cleaned here, never used as a path."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


def clean_filename(raw: str | None, limit: int = 120) -> str:
    """The last path segment, without control or shell-hostile characters, at most `limit` chars."""
    if not raw:
        return ""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").split("/")[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".")
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:limit]
        )
    return name


def file_type(has_video: bool) -> str:
    """'video' when the upload carried a video stream, else 'audio' (seed 000's file_type)."""
    return "video" if has_video else "audio"
