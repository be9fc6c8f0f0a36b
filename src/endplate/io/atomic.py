"""Atomic output: write to a hidden temporary beside the target, then swap it in.

A reader of the target sees the complete old result or the complete new one, never a mix, even if
the writer is killed (SIGKILL) at any point. A file is swapped in with one ``rename``. A folder (a
Zarr store) is swapped with the target in one ``renameat2(RENAME_EXCHANGE)`` where the system has
it (Linux); elsewhere the old folder is moved aside, the new one moved in, and the old one deleted.

Temporaries are named ``.<target>.endplate-<host>-<pid>-<token>-<role><suffix>``: the host and
process that wrote them, so that the next write of the same target removes those left by a writer
that is gone (killed), and never those of a writer still running. The role ``old`` marks a folder
moved aside; if a kill left the target missing, the next write moves it back first.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from endplate.errors import EndplateInputError

_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]  # hex: no "-" to confuse the parser
_RENAME_EXCHANGE = 2  # from <linux/fs.h>
_AT_FDCWD = -100
_CANNOT_EXCHANGE = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)  # this file system or kernel


def _load_renameat2():
    """The C library's ``renameat2``, or None where there is none (not Linux, or an old glibc)."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except (OSError, TypeError):
        return None


_renameat2 = _load_renameat2()


def _target(path: str | os.PathLike) -> Path:
    target = Path(path)
    if not target.parent.exists():
        raise EndplateInputError(f"output folder {str(target.parent)!r} does not exist")
    return target


def _temporary(target: Path, role: str, suffix: str) -> Path:
    """A fresh temporary name beside ``target`` for this process (``role``: "new" or "old")."""
    return target.with_name(f".{target.name}.endplate-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}-{role}{suffix}")


def _writer_gone(host: str, pid: str) -> bool:
    """True when the process that named a temporary has ended (on another host: unknown, so False)."""
    if host != _HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        pass
    return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_stale(path: str | os.PathLike) -> None:
    """Remove the temporaries of ``path`` whose writer is gone; restore a folder moved aside if the target is missing."""
    target = Path(path)
    prefix = f".{target.name}.endplate-"
    stale = []
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        host, pid, _token, role = (entry.name[len(prefix) :].split("-", 3) + ["", "", "", ""])[:4]
        if _writer_gone(host, pid):
            stale.append((role.startswith("old"), entry))
    for is_old, entry in sorted(stale, key=lambda s: not s[0]):  # a folder moved aside first
        if is_old and not target.exists():
            os.rename(entry, target)  # the kill came between moving the old out and the new in
        else:
            _remove(entry)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path; on success it replaces ``path``, on any error it is removed.

    The temporary ends in the target's suffix, for writers that read the format from it.
    """
    target = _target(path)
    clean_stale(target)
    tmp = _temporary(target, "new", target.suffix)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # the umask applies, as to any new file
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        _remove(tmp)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it takes the place of ``path``, on any error it is removed."""
    target = _target(path)
    clean_stale(target)
    tmp = _temporary(target, "new", target.suffix)
    tmp.mkdir()
    try:
        yield tmp
        _swap_in(tmp, target)
    finally:
        _remove(tmp)  # after a swap it holds the old result


def _swap_in(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``; whatever was at ``target`` ends up at ``new`` or is deleted."""
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if _exchange(new, target):
        return
    aside = _temporary(target, "old", target.suffix)
    os.rename(target, aside)
    os.rename(new, target)
    _remove(aside)


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one step (Linux ``renameat2``); False where the system cannot."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _CANNOT_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(b))


def write_atomic(path: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` with a temporary file path, then move it to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
