"""Serving a stored file with HTTP range requests (RFC 9110 §14), so players can seek."""

from __future__ import annotations

import re

from starlette.responses import Response

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def ranged(
    data: bytes, media_type: str, header: str | None, extra: dict[str, str] | None = None
) -> Response:
    """`data`, or the one byte range `header` asks for; several ranges or a malformed header
    get the whole file, as the RFC allows. `extra` headers go on every answer."""
    size = len(data)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-cache"} | (extra or {})
    match = _RANGE.fullmatch((header or "").strip())
    if match is None or match[1] == match[2] == "":
        return Response(data, media_type=media_type, headers=headers)
    if match[1] == "":  # the last N bytes
        start, end = max(size - int(match[2]), 0), size - 1
    else:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or start > end:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data[start : end + 1], status_code=206, media_type=media_type, headers=headers)
