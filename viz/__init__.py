"""Draw minigrad graphs: minigrad graph -> view graph -> DOT -> SVG (or Jupyter, or text).

    import viz
    loss.backward(retain_graph=True, record=True)
    viz.render(loss, "rnn.svg", grads=True, highlight=rnn.W)   # writes the SVG, returns the path
    viz.draw(loss)                 # a graphviz.Digraph subclass: .source is the DOT text
    viz.html(loss, "bptt.html", highlight=rnn.W)  # a page that steps through backward
    print(viz.text(loss))          # the same graph as an indented outline
    viz.draw(loss, term=(4, 2), highlight=rnn.W)   # the k=2 term of dL_4/dW, in bold
    viz.term_norm(loss, (4, 2), rnn.W)             # its norm ||dL_4/dW_2||

``dot`` (Graphviz) is found on PATH or named by the MINIGRAD_DOT environment variable; it runs
with a timeout. viz is the only package that imports ``graphviz``.
"""

from .dot import Drawing, draw
from .errors import (
    DotFailedError,
    DotNotFoundError,
    GraphReleasedError,
    GraphTooLargeError,
    RenderTimeoutError,
)
from .html import html
from .render import render
from .runner import find_dot
from .term import term_norm
from .text import text

__all__ = [
    "DotFailedError",
    "DotNotFoundError",
    "Drawing",
    "GraphReleasedError",
    "GraphTooLargeError",
    "RenderTimeoutError",
    "draw",
    "find_dot",
    "html",
    "render",
    "term_norm",
    "text",
]
