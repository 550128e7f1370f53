"""``render``: draw, run ``dot`` with a timeout, and write the file whole or not at all.

The format follows the file's suffix (``.svg``, ``.png``, ``.pdf``); the path is checked before
anything is drawn, and the file is written through ``minigrad.files.atomic_write``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from minigrad.files import atomic_write

from .dot import Drawing, draw
from .runner import run_dot

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
RASTER = ("png",)  # the formats a dpi applies to


def output_format(path: str | os.PathLike, who: str = "viz.render") -> str:
    """The Graphviz format named by ``path``'s suffix, or a ValueError listing the known ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        raise ValueError(f"{who}: cannot tell the format of {os.fspath(path)!r} from its suffix "
                         f"{suffix or '(none)'!r}; the file name must end in one of {known}")
    return FORMATS[suffix]


def check_dpi(dpi: float | None, format: str, who: str = "viz.render") -> None:
    """Refuse a dpi that is not a positive number, or one given for a vector format."""
    if dpi is None:
        return
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not (
            math.isfinite(dpi) and 0 < dpi <= 2400):
        raise ValueError(f"{who}: dpi must be a number in (0, 2400], got {dpi!r}")
    if format not in RASTER:
        raise ValueError(f"{who}: dpi={dpi} sets the resolution of a .png; a .{format} is a "
                         "vector picture that scales without it")


def _check_target(path: Path) -> None:
    """Refuse, before drawing, a path that is a folder or lies under a file."""
    if path.is_dir():
        raise ValueError(f"viz.render: {os.fspath(path)!r} is a folder; give a file name")
    folder = path.absolute().parent
    while not folder.exists():  # missing folders are made later, once the picture exists
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"viz.render: cannot write {os.fspath(path)!r}: {folder} is a file")


def render(
    root: Any,
    path: str | os.PathLike,
    format: str | None = None,
    timeout: float = 30,
    dpi: float | None = None,
    **draw_options: Any,
) -> str:
    """Draw the graph behind ``root`` (options as in ``viz.draw``) and write it to ``path``.

    The format follows the suffix of ``path``: ``.svg``, ``.png`` or ``.pdf`` (``format=``, if
    given, must agree); ``dpi=`` sets a PNG's resolution, for slides. An unknown suffix is an
    error before anything is drawn. ``root`` may also be a Drawing from ``viz.draw`` (then no
    draw options), to draw once and both look at it and save it.

    ``dot`` (from PATH, or the program named by ``MINIGRAD_DOT``) runs as a subprocess for at
    most ``timeout`` seconds, and its output is checked to be a file of that format. It then
    replaces ``path`` in one step (missing folders are made), so ``path`` is either the whole
    new picture or untouched, and no stray files are left behind. Returns ``path`` as a string.
    """
    target = Path(path)
    named = output_format(target)
    if format is not None and format != named:
        raise ValueError(f"viz.render: format={format!r} disagrees with the suffix of "
                         f"{os.fspath(path)!r} ({named}); the suffix decides, drop format=")
    check_dpi(dpi, named)
    _check_target(target)
    if isinstance(root, Drawing):
        if draw_options:
            raise TypeError(f"viz.render: a Drawing is already drawn; got {sorted(draw_options)}")
        drawing = root
    else:
        drawing = draw(root, **draw_options)  # size checks happen here, before any dot runs
    nodes = len(drawing.view_graph.nodes) if drawing.view_graph is not None else None
    options = [f"-Gdpi={dpi:g}"] if dpi is not None else []
    output = run_dot(drawing.source, named, timeout, nodes, options)
    target.absolute().parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, output)
