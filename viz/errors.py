"""The errors viz raises; each says what happened and what to do about it."""

from __future__ import annotations

INSTALL_HELP = (
    "Install Graphviz: Debian/Ubuntu `sudo apt-get install graphviz`, macOS `brew install "
    "graphviz`, conda `conda install -c conda-forge graphviz`; or set MINIGRAD_DOT to the path "
    "of a `dot` program. Without it the DOT text is still available: viz.draw(loss).source"
)


class GraphTooLargeError(RuntimeError):
    """The view graph has more nodes than ``max_nodes``; raised before any ``dot`` runs.

    ``count`` and ``max_nodes`` say by how much, for a caller that words its own advice."""

    count: int = 0
    max_nodes: int = 0


class DotNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is neither on PATH nor named by MINIGRAD_DOT."""


class RenderTimeoutError(RuntimeError):
    """``dot`` did not finish within the timeout (it was stopped; no file was written)."""


class DotFailedError(RuntimeError):
    """``dot`` exited with an error (the end of its message is included), or exited 0 with
    output that is not a file of the asked format."""


class GraphReleasedError(RuntimeError):
    """The graph was released by ``backward()`` without ``retain_graph=True``."""


def too_large(count: int, max_nodes: int, steps: int) -> GraphTooLargeError:
    steps_note = f" ({steps} time steps)" if steps else ""
    error = GraphTooLargeError(
        f"viz: the view graph has {count} nodes{steps_note}, more than max_nodes={max_nodes}. "
        "Draw fewer time steps, or pass fold=k (the first and last k steps, the middle "
        "collapsed into one box) or fold=0 (the rolled view, one step with a loop); "
        "or raise max_nodes= if you really want every node (dot gets slow on big graphs)."
    )
    error.count, error.max_nodes = count, max_nodes
    return error


TAIL_LINES = 20
TAIL_CHARS = 4000


def tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last ``lines`` lines of a program's error text, at most ``chars`` characters, saying
    how much was cut: a runaway ``dot`` must not make a megabyte exception."""
    kept = text.strip().splitlines()
    cut = len(kept) - lines
    kept = kept[-lines:]
    body = "\n".join(kept)
    if len(body) > chars:
        body = "..." + body[-chars:]
    if cut > 0:
        body = f"({cut} earlier lines cut)\n{body}"
    return body


def dot_not_found(reason: str) -> DotNotFoundError:
    return DotNotFoundError(f"viz: {reason}. {INSTALL_HELP}")


def render_timeout(timeout: float, count: int | None) -> RenderTimeoutError:
    size = f" for a graph of {count} nodes" if count is not None else ""
    return RenderTimeoutError(
        f"viz: dot did not finish within timeout={timeout} s{size}; it was stopped and no file "
        "was written. Pass fold=k (first and last k steps, the middle collapsed) or fold=0 "
        "(the rolled view), draw fewer time steps, or raise timeout=."
    )
