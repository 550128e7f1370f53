"""Files written whole or not at all, and targets checked before any work is done.

Every file the project writes (pictures, checkpoints, plots) goes through ``atomic_open`` or
``atomic_write``: the bytes go to a new file with a unique name in the target's folder, are
flushed to disk, and that file then replaces the target in one ``os.replace``. A reader sees the
old file or the new one, never a mix; two writers racing for one path leave one whole file; on any
failure (an exception, Ctrl-C) the temporary is removed and the target is untouched.

    from minigrad.files import atomic_open, atomic_write
    atomic_write("notes.txt", "h_t = f_h(a_t)\\n")
    with atomic_open("weights.npz") as file:
        np.savez(file, W=W)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_open", "atomic_write", "check_target"]


def _temporary(target: Path) -> tuple[int, Path]:
    """A new, empty file beside ``target`` with a name no other writer can hold."""
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            # O_EXCL: never reuse another writer's file. Mode 0o666 lets the umask decide, as for
            # open(); tempfile.mkstemp's 0o600 would make every saved picture private.
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:
            continue


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the renamed file, so a crash cannot lose the rename."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder cannot be opened on every platform (Windows); the data is synced
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _refuse_special(target: Path, who: str) -> None:
    """Never replace a folder, a device (``/dev/null``) or a pipe with a regular file."""
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file"
        raise ValueError(f"{who} {target} is {kind}; give a file name")


@contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write into; on a clean exit it replaces ``path`` whole (fsync, rename).

    On an exception the temporary is removed, ``path`` keeps its old content, and the exception
    propagates. The folder of ``path`` must exist.
    """
    target = Path(path)
    _refuse_special(target, "atomic_open:")
    fd, temp = _temporary(target)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> str:
    """Write ``data`` (str as UTF-8) to ``path`` whole or not at all; returns ``path`` as str."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_open(path) as file:
        file.write(data)
    return os.fspath(path)


def check_target(path: str | os.PathLike, option: str,
                 suffixes: Iterable[str] | None = None) -> Path:
    """Refuse, before any work, a file path that cannot be written: a folder, a missing or
    unwritable folder, or a suffix outside ``suffixes``. ``option`` names it in the message."""
    if not os.fspath(path):
        raise ValueError(f"{option} needs a file name, got ''")
    target = Path(path)
    if suffixes is not None:
        allowed = tuple(suffixes)
        if target.suffix.lower() not in allowed:
            raise ValueError(f"{option} {path}: the file name must end in one of "
                             f"{', '.join(allowed)} (got {target.suffix or 'no suffix'!r})")
    _refuse_special(target, option)
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    try:  # the one sure test, also for root and read-only mounts: make the temporary, once
        fd, temp = _temporary(target)
    except OSError as error:
        raise ValueError(f"{option} {path}: cannot write in {folder} "
                         f"({error.strerror or error})") from None
    os.close(fd)
    temp.unlink()
    return target
