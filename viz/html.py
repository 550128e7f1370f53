"""``html``: one self-contained page that steps through the backward pass, node by node.

The page holds the drawing of ``viz.draw`` (same options) as inline SVG laid out by ``dot`` now,
the frames read from the engine's recording (``viz.steps``) and their words (``viz.narrate``)
as JSON, and a small script and style sheet (``viz/page``). It loads nothing: it opens from
``file://`` offline. Contract for scripts and tests: ``window.minigradSteps`` (one entry
``{node, label, scope, grad_norm}`` per frame after frame 0), ``window.minigradGo(k)``, the
element ``#frame`` holding ``k / N``, the class ``current`` on the highlighted node's SVG group
(its id is the DOT id ``n12``) and ``data-grad-norm`` on every node's group.
"""

from __future__ import annotations

import html as markup
import inspect
import json
import os
import re
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any

import minigrad as mg
from minigrad.files import atomic_write

from . import narrate, steps, style
from .dot import Drawing, draw
from .graph import ViewGraph

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
FULL = "full-"  # id prefix of the unfolded drawing the page expands to
ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)


def html(root: Any, path: str | os.PathLike, *, timeout: float = 30, **draw_options: Any) -> str:
    """Write one HTML page that plays ``root``'s recorded backward pass; returns ``path``.

    Call ``root.backward(retain_graph=True, record=True)`` first. ``draw_options`` are those of
    ``viz.draw`` (``highlight=W`` also picks the parameter whose running sum the panel shows);
    ``grads`` is accepted and changes nothing: the page shows the gradients frame by frame,
    over a drawing of the forward graph. With ``fold`` the page also holds the unfolded
    drawing, which a click on the box of folded steps (or a button) shows, when it has at most
    ``max_nodes`` nodes. ``dot`` runs with ``timeout`` seconds per drawing; the file is
    written whole or not at all.
    """
    path = os.fspath(path)
    done = steps.recorded_order(root)
    options = {k: v for k, v in draw_options.items() if k != "grads"}
    drawing = draw(root, **options)
    full = None  # the unfolded drawing: places what folding hides, and the page can expand to it
    if drawing.view_graph.folded:
        limit = options.get("max_nodes", inspect.signature(draw).parameters["max_nodes"].default)
        full = draw(root, **{**options, "fold": None, "max_nodes": max(limit, 10**9)})
    full_view = full.view_graph if full is not None else None
    views = [(drawing, "")]
    if full is not None and len(full_view.nodes) <= limit:
        views.append((full, FULL))
    parts = [_view_data(d, prefix, done, full_view, timeout) for d, prefix in views]
    where = steps.places(drawing.view_graph, full_view, done)
    contract = [_step_entry(t, where[id(t)]) for t in done]
    data = {
        "frames": _frames(root, done),
        "views": [p[0] for p in parts],
        "params": _parameters(root, done),
        "param": _chosen_parameter(options.get("highlight")),
        "scale": _scale(),
    }
    page = _page(root, contract, data, [p[1] for p in parts])
    atomic_write(path, page.encode("utf-8"))
    return path


def _view_data(
    drawing: Drawing, prefix: str, done: list, full: ViewGraph | None, timeout: float
) -> tuple[dict, str]:
    """One drawing's SVG (ids rewritten) and the per-frame changes of its nodes and edges."""
    view = drawing.view_graph
    own_full = None if prefix else full
    where = steps.places(view, own_full, done)
    node_events = steps.node_events(view, where, done)
    lit = steps.edge_events(view, where, done)
    edges_per_frame: list[list] = [[] for _ in done]
    edge_ids = {}
    for index, edge in enumerate(view.edges):
        if id(edge) in lit:
            frame, sent = lit[id(edge)]
            edge_ids[id(edge)] = f"{prefix}e{index}"
            edges_per_frame[frame - 1].append([f"{prefix}e{index}", style.fmt_norm(sent)])
    data = {
        "prefix": prefix,
        "current": [prefix + steps.main_node(where[id(t)]).id for t in done],
        "nodes": [[[prefix + i, a, b, _shown(a), _shown(b)] for i, a, b in frame]
                  for frame in node_events],
        "edges": edges_per_frame,
        "box": next((prefix + n.id for n in view.nodes if n.kind == "fold"), None),
    }
    svg = _prepare_svg(drawing.svg(timeout), view, prefix, edge_ids, lit)
    return data, svg


def _prepare_svg(text: str, view: ViewGraph, prefix: str, edge_ids: dict, lit: dict) -> str:
    """dot's SVG for inlining: each node's group gets its DOT id and an empty
    ``data-grad-norm``, each edge gradient flows along an id and its scale class; titles,
    comments and the doctype go (hover text stays in the tooltips)."""
    tree = ET.fromstring(text)
    by_pair: dict[tuple[str, str], list] = {}
    for edge in view.edges:
        pair = tuple(sorted((edge.tail.id, edge.head.id)))
        by_pair.setdefault(pair, []).append(edge)
    title_tag = f"{{{SVG}}}title"
    for group in tree.iter(f"{{{SVG}}}g"):
        title = group.find(title_tag)
        kind = group.get("class", "")
        name = title.text or "" if title is not None else ""
        if title is not None:
            group.remove(title)
        if kind == "node":
            group.set("id", prefix + name)
            group.set("data-grad-norm", "")
            x, y = _bottom(group)
            group.set("data-x", f"{x:.1f}")
            group.set("data-y", f"{y + 9:.1f}")
        elif kind == "cluster":
            group.set("id", prefix + name)
        elif kind == "edge":
            tail, _, head = name.partition("->")
            matches = by_pair.get(tuple(sorted((tail, head))), [])
            edge = matches.pop(0) if matches else None
            if edge is not None and id(edge) in edge_ids:
                group.set("id", edge_ids[id(edge)])
                group.set("class", f"edge {_scale_class(lit[id(edge)][1])}")
                path = next(group.iter(f"{{{SVG}}}path"), None)
                if path is not None:
                    x, y = _middle(path.get("d", ""))
                    group.set("data-x", f"{x + 4:.1f}")
                    group.set("data-y", f"{y - 3:.1f}")
            else:
                group.attrib.pop("id", None)
        elif kind == "graph":
            group.set("id", prefix + "graph")
    tree.set("class", "drawing")
    tree.set("id", prefix + "drawing")
    return ET.tostring(tree, encoding="unicode")


def _shown(value: str) -> str:
    """A recorded norm (exact float text) as the drawing writes norms, or "" for none."""
    return style.fmt_norm(float(value)) if value else ""


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]


def _bottom(group: ET.Element) -> tuple[float, float]:
    """The middle of the lower edge of a node's outline (path, polygon or ellipse)."""
    xs, ys = [], []
    for shape in group.iter():
        tag = shape.tag.rpartition("}")[2]
        if tag == "ellipse":
            cx, cy = float(shape.get("cx", 0)), float(shape.get("cy", 0))
            rx, ry = float(shape.get("rx", 0)), float(shape.get("ry", 0))
            xs += [cx - rx, cx + rx]
            ys += [cy + ry]
        elif tag in ("path", "polygon"):
            numbers = _numbers(shape.get("d") or shape.get("points") or "")
            xs += numbers[0::2]
            ys += numbers[1::2]
    if not xs:
        return 0.0, 0.0
    return (min(xs) + max(xs)) / 2, max(ys)


def _middle(d: str) -> tuple[float, float]:
    """The middle of dot's edge path ``M p0 C p1 p2 p3 ...`` (cubic Bezier pieces): the middle
    piece at t = 1/2, (p0 + 3 p1 + 3 p2 + p3) / 8, or the joint between the two middle ones."""
    numbers = _numbers(d)
    points = list(zip(numbers[0::2], numbers[1::2]))
    if not points:
        return 0.0, 0.0
    pieces = (len(points) - 1) // 3
    if pieces % 2 == 0:
        return points[3 * (pieces // 2)]
    p0, p1, p2, p3 = points[3 * (pieces // 2) : 3 * (pieces // 2) + 4]
    return tuple((a + 3 * b + 3 * c + e) / 8 for a, b, c, e in zip(p0, p1, p2, p3))


def _scale_class(norm: float) -> str:
    """The CSS class of an edge's colour on viz's fixed log10 scale."""
    if style.is_bad(norm):
        return "gbad"
    if norm == 0.0:
        return "gzero"
    return f"g{style.decade(norm)}"


def _scale() -> list[list]:
    """Colour and width of each scale class, for the style sheet and the legend."""
    rows = [[f"g{k}", c, round(0.6 + 0.45 * k, 2), t] for k, (c, t) in
            enumerate(zip(style.EDGE_SCALE, style.scale_labels()))]
    return rows + [["gzero", style.ZERO_COLOR, 0.7, "0"], ["gbad", style.BAD_COLOR, 3.0, "NaN/Inf"]]


def _step_entry(tensor: Any, shown: list) -> dict:
    node = steps.main_node(shown)
    own = node.tensor is tensor
    return {
        "node": node.id,
        "label": node.title if own and node.title else narrate.name(tensor),
        "scope": tensor.scope or "",
        "grad_norm": tensor.grad_norm,
    }


def _frames(root: Any, done: list) -> list[dict]:
    """Frame 0 (the forward graph) and the words of every frame after it."""
    uses: dict[int, int] = {}
    for tensor in done:
        for parent, sent in zip(tensor.parents, tensor.edge_grad_norms or ()):
            if sent is not None:
                uses[id(parent)] = uses.get(id(parent), 0) + 1
    notes = narrate.NOTES_PARAMS <= {t.name for t in done if t.op is None}
    start = {
        "title": "the forward graph",
        "lines": [
            f"{len(done)} nodes take part in backward; press the right arrow (or space to play) "
            f"to watch the gradient leave {root.name or 'L'} and flow back, one node per frame.",
        ],
    }
    return [start] + [narrate.frame(t, root, uses.get(id(t), 0), notes) for t in done]


def _parameters(root: Any, done: list) -> list[dict]:
    root_name = root.name or "L"
    leaves = [t for t in done if t.op is None]
    leaves.sort(key=lambda t: -t.backward_step)  # leaves go last, newest first: creation order
    return [narrate.parameter_terms(p, done, root_name) for p in leaves]


def _chosen_parameter(highlight: Any) -> str | None:
    """The parameter whose running sum the panel shows first: ``highlight`` when it names a
    leaf that gets a gradient, else ``W``, else the first one."""
    if isinstance(highlight, mg.Tensor):
        return highlight.name if highlight.op is None else None
    if isinstance(highlight, str):
        return highlight
    return "W"


def _page(root: Any, contract: list, data: dict, svgs: list[str]) -> str:
    folder = resources.files("viz") / "page"
    template = (folder / "page.html").read_text(encoding="utf-8")
    title = f"backward pass of {root.name or 'L'}: {len(contract)} steps"
    fills = {
        "title": markup.escape(title),
        "style": (folder / "page.css").read_text(encoding="utf-8") + _scale_css(),
        "script": (folder / "page.js").read_text(encoding="utf-8"),
        "steps": _json(contract),
        "data": _json(data),
        "drawing": svgs[0],
        "unfolded": f'<div id="unfolded" hidden>{svgs[1]}</div>' if len(svgs) > 1 else "",
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: fills[m.group(1)], template)


def _scale_css() -> str:
    rules = []
    for name, colour, width, _ in _scale():
        rules.append(
            f".stepping .edge.lit.{name} path {{ stroke: {colour}; stroke-width: {width}; }}\n"
            f".stepping .edge.lit.{name} polygon {{ stroke: {colour}; fill: {colour}; }}\n"
        )
    return "".join(rules)


def _json(value: Any) -> str:
    """JSON safe inside a script element (no ``</script>``, no ``<!--``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
