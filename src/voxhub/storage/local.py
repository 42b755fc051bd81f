"""Blobs as files under one folder, written atomically and never reached through a symlink."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from voxhub.storage.base import BlobInfo, BlobNotFound
from voxhub.storage.keys import TEMP_PREFIX, validate_key, validate_prefix

# Voice recordings are biometric data: only the service's own user may read them.
_FILE_MODE = 0o600
_DIR_MODE = 0o700
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A concurrent delete may remove a directory that a put has just opened; the put walks again.
_PUT_ATTEMPTS = 5

_Names = list[str]


class UnsafePathError(PermissionError):
    """A symlink or a non-directory sits where the store expects one of its own folders."""


class LocalBlobStore:
    """A BlobStore on the local filesystem; safe against crashes and hostile keys."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key`: temp file, fsync, rename, fsync of the folder."""
        # content_type is not kept: files have no metadata, and voxhub keys carry an extension.
        parts = validate_key(key).split("/")
        await asyncio.to_thread(self._put, parts, bytes(data))

    async def get(self, key: str) -> bytes:
        """The blob under `key`; raises `BlobNotFound`."""
        return await asyncio.to_thread(self._get, validate_key(key))

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        return await asyncio.to_thread(self._exists, validate_key(key).split("/"))

    async def delete(self, key: str) -> None:
        """Remove the blob and any folders it leaves empty; no error if it is already gone."""
        await asyncio.to_thread(self._delete, validate_key(key).split("/"))

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix`; returns how many."""
        return await asyncio.to_thread(self._delete_prefix, validate_prefix(prefix))

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """Keys under `prefix`, sorted; in-flight and crashed temp files are never listed."""
        return await asyncio.to_thread(self._list, validate_prefix(prefix))

    async def list_info(self, prefix: str = "") -> builtins.list[BlobInfo]:
        """Keys under `prefix` with their files' modification times, sorted by key."""
        return await asyncio.to_thread(self._list_info, validate_prefix(prefix))

    async def sweep_temp(self, older_than_s: float) -> int:
        """Remove temp files left by crashed writes, older than `older_than_s`; returns how many."""
        return await asyncio.to_thread(self._sweep_temp, older_than_s)

    async def aclose(self) -> None:
        """Nothing to release: every operation closes its own descriptors."""

    # --- blocking helpers, run in a worker thread ---

    def _open_root(self) -> int:
        os.makedirs(self.root, mode=_DIR_MODE, exist_ok=True)
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _open_dir(self, parts: _Names, *, create: bool) -> int:
        """Open root/parts one segment at a time with O_NOFOLLOW, so no symlink is ever crossed."""
        fd = self._open_root()
        try:
            for name in parts:
                if create:
                    try:
                        os.mkdir(name, _DIR_MODE, dir_fd=fd)
                        # The new folder's own entry must be durable before files inside it are.
                        os.fsync(fd)
                    except FileExistsError:
                        pass
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise UnsafePathError(f"not a plain folder of the store: {name!r}") from exc
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _put(self, parts: _Names, data: bytes) -> None:
        for _ in range(_PUT_ATTEMPTS):
            try:
                dir_fd = self._open_dir(parts[:-1], create=True)
            except FileNotFoundError:
                continue  # a concurrent delete pruned a folder between our mkdir and open
            try:
                if self._write_in(dir_fd, parts[-1], data):
                    return
            finally:
                os.close(dir_fd)
        raise OSError(f"folder kept vanishing while writing {'/'.join(parts)!r}")

    def _write_in(self, dir_fd: int, name: str, data: bytes) -> bool:
        """Write `data` to `name` in `dir_fd` atomically; False if the folder was just removed."""
        tmp = f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, _FILE_MODE, dir_fd=dir_fd)
        except FileNotFoundError:
            return False
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # rename(2) replaces the entry itself, so a symlink at `name` is replaced, not followed.
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        # Without this the rename itself may be lost on power failure.
        os.fsync(dir_fd)
        return True

    def _get(self, key: str) -> bytes:
        parts = key.split("/")
        try:
            dir_fd = self._open_dir(parts[:-1], create=False)
        except (FileNotFoundError, UnsafePathError):
            raise BlobNotFound(key) from None
        try:
            # O_NONBLOCK: a FIFO planted in the store must not hang the reader; fstat rejects it.
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            fd = os.open(parts[-1], flags, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                raise BlobNotFound(key) from None
            raise
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise BlobNotFound(key)  # a folder or a device is not a blob
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def _exists(self, parts: _Names) -> bool:
        try:
            dir_fd = self._open_dir(parts[:-1], create=False)
        except (FileNotFoundError, UnsafePathError):
            return False
        try:
            st = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        finally:
            os.close(dir_fd)
        return stat.S_ISREG(st.st_mode)

    def _delete(self, parts: _Names) -> None:
        try:
            dir_fd = self._open_dir(parts[:-1], create=False)
        except (FileNotFoundError, UnsafePathError):
            return
        try:
            st = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(parts[-1], dir_fd=dir_fd)
        except FileNotFoundError:
            return
        finally:
            os.close(dir_fd)
        self._prune_empty(parts[:-1])

    def _prune_empty(self, dir_parts: _Names) -> None:
        """Remove root/dir_parts and its parents while they are empty, never the root itself."""
        while dir_parts:
            try:
                parent_fd = self._open_dir(dir_parts[:-1], create=False)
            except (FileNotFoundError, UnsafePathError):
                return
            try:
                os.rmdir(dir_parts[-1], dir_fd=parent_fd)
            except OSError:
                return  # not empty (or already gone): its parents are not empty either
            finally:
                os.close(parent_fd)
            dir_parts = dir_parts[:-1]

    def _walk(self, prefix: str, *, topdown: bool) -> Iterator[tuple[str, int, _Names, _Names]]:
        """Yield (key folder, folder fd, regular file names, subfolder names) under `prefix`.

        Only the folder holding the prefix's last segment is walked, and os.fwalk never follows
        symlinks, so the walk stays inside the root.
        """
        base_parts = _folder_parts(prefix)
        try:
            base_fd = self._open_dir(base_parts, create=False)
        except (FileNotFoundError, UnsafePathError):
            return
        try:
            for dirpath, dirnames, filenames, dir_fd in os.fwalk(
                ".", topdown=topdown, follow_symlinks=False, dir_fd=base_fd
            ):
                folder = "/".join([*base_parts, *dirpath.split(os.sep)[1:]])
                files = [name for name in filenames if _is_regular(name, dir_fd)]
                yield folder, dir_fd, files, dirnames
        finally:
            os.close(base_fd)

    def _list(self, prefix: str) -> _Names:
        return sorted(key for key, _ in self._keys(prefix))

    def _list_info(self, prefix: str) -> builtins.list[BlobInfo]:
        infos = []
        for key, (name, dir_fd) in self._keys(prefix):
            try:
                mtime = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue  # removed since the walk saw it
            infos.append(BlobInfo(key, datetime.fromtimestamp(mtime, UTC)))
        return sorted(infos, key=lambda info: info.key)

    def _keys(self, prefix: str) -> Iterator[tuple[str, tuple[str, int]]]:
        """(key, (file name, folder fd)) of every blob under `prefix`; the fd is open only
        until the walk moves on."""
        for folder, dir_fd, files, dirnames in self._walk(prefix, topdown=True):
            # Top-down walks let us skip subtrees that cannot hold a matching key.
            dirnames[:] = [d for d in dirnames if _may_match(f"{folder}/{d}/".lstrip("/"), prefix)]
            for name in files:
                key = f"{folder}/{name}" if folder else name
                if not name.startswith(TEMP_PREFIX) and key.startswith(prefix):
                    yield key, (name, dir_fd)

    def _delete_prefix(self, prefix: str) -> int:
        removed = 0
        for folder, dir_fd, files, dirnames in self._walk(prefix, topdown=False):
            for name in files:
                key = f"{folder}/{name}" if folder else name
                if not name.startswith(TEMP_PREFIX) and key.startswith(prefix):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=dir_fd)
                        removed += 1
            _rmdir_children(dir_fd, dirnames)
        self._prune_empty(_folder_parts(prefix))
        return removed

    def _sweep_temp(self, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        removed = 0
        for _, dir_fd, files, dirnames in self._walk("", topdown=False):
            for name in files:
                if not name.startswith(TEMP_PREFIX):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mtime <= cutoff:
                        os.unlink(name, dir_fd=dir_fd)
                        removed += 1
            _rmdir_children(dir_fd, dirnames)
        return removed


def _folder_parts(prefix: str) -> _Names:
    """The folder segments a prefix lies in: 'a/b/c' and 'a/b/' are both in 'a/b'."""
    folder = prefix.rpartition("/")[0]
    return folder.split("/") if folder else []


def _may_match(folder: str, prefix: str) -> bool:
    """Whether keys inside `folder` (ending in '/') can start with `prefix`."""
    return folder.startswith(prefix) or prefix.startswith(folder)


def _is_regular(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _rmdir_children(dir_fd: int, dirnames: _Names) -> None:
    """Bottom-up walks reach a folder after its children, so children emptied by now can go."""
    for sub in dirnames:
        with contextlib.suppress(OSError):
            os.rmdir(sub, dir_fd=dir_fd)
