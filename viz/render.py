"""``render``: draw, run ``dot`` with a timeout, and write the file whole or not at all."""

from __future__ import annotations

import os
import secrets
from typing import Any

from .dot import Drawing, draw


def render(
    root: Any,
    path: str | os.PathLike,
    format: str = "svg",
    timeout: float = 30,
    **draw_options: Any,
) -> str:
    """Draw the graph behind ``root`` (options as in ``viz.draw``) and write it to ``path``.

    ``root`` may also be a Drawing from ``viz.draw`` (then no draw options), to draw once and
    both look at it and save it.

    ``dot`` (from PATH, or the program named by ``MINIGRAD_DOT``) runs as a subprocess for at
    most ``timeout`` seconds. The output goes to a temporary file in the same folder that then
    replaces ``path`` in one step, so ``path`` is either the whole new picture or untouched, and
    no stray files are left behind. Returns ``path`` as a string.
    """
    path = os.fspath(path)
    if isinstance(root, Drawing):
        if draw_options:
            raise TypeError(f"viz.render: a Drawing is already drawn; got {sorted(draw_options)}")
        drawing = root
    else:
        drawing = draw(root, **draw_options)  # size checks happen here, before any dot runs
    output = drawing.rendered(format, timeout)
    write_atomically(path, output)
    return path


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and os.replace."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never reuse someone's file; mode 0o666 so the umask decides, as for open()
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
