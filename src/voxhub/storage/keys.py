"""Blob key rules, shared by every adapter so a key means the same thing in each store."""

from __future__ import annotations

import unicodedata

MAX_KEY_LENGTH = 512
# Most filesystems cap one name at 255 bytes; applying it everywhere keeps keys portable.
MAX_SEGMENT_BYTES = 255

# The local adapter names its in-flight files with this prefix; refusing it in keys means a temp
# file can never be mistaken for (or collide with) a real blob.
TEMP_PREFIX = ".voxhub-tmp-"


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative '/'-separated path; raise ValueError."""
    if not isinstance(key, str):
        raise ValueError(f"blob key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("blob key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"blob key is longer than {MAX_KEY_LENGTH} characters")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates cannot name a file or travel in an S3 request.
        raise ValueError(f"blob key is not valid Unicode: {key!r}") from None
    if key.startswith("/"):
        raise ValueError(f"blob key must be relative: {key!r}")
    if "\\" in key:
        raise ValueError(f"blob key must not contain backslashes: {key!r}")
    # Cc covers NUL, C0, DEL and C1 controls: none belong in a path and some truncate C strings.
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        raise ValueError(f"blob key must not contain control characters: {key!r}")
    for segment in key.split("/"):
        if segment == "":
            raise ValueError(f"blob key has an empty segment: {key!r}")
        if segment in (".", ".."):
            raise ValueError(f"blob key must not contain '.' or '..' segments: {key!r}")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise ValueError(f"blob key segment is longer than {MAX_SEGMENT_BYTES} bytes: {key!r}")
        if segment.startswith(TEMP_PREFIX):
            raise ValueError(f"blob key uses the reserved prefix {TEMP_PREFIX!r}: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """Return `prefix` unchanged if it is empty or a valid key, optionally ending in '/'."""
    if prefix == "":
        return prefix
    validate_key(prefix.removesuffix("/"))
    return prefix
