"""DOT from the view graph, and ``draw``, which returns a ``graphviz.Digraph`` subclass.

Every label is an HTML-like label built here with every user string escaped (``& < > "`` and
newlines); plain attributes (tooltips) are escaped for DOT's quoted strings. The layout planned
by ``viz.layout`` (steps side by side in time order) becomes rank groups, an invisible ruler and
edges written head to tail with ``dir=back``. Node ids are ``n0, n1, ...`` in view order and
cluster ids ``cluster_0, ...``, so the same graph always gives byte-identical DOT.
"""

from __future__ import annotations

import re
from typing import Any

import graphviz

from . import runner, style
from .graph import COPY, CUT, DATA, FOLD, INPUT, OP, PARAM, Cluster, Edge, Node, ViewGraph
from .view import build

RANKDIRS = ("auto", "LR", "TB", "RL", "BT")
BIG_GRAPH_NODES = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Drawing(graphviz.Digraph):
    """The drawing of a minigrad graph: ``.source`` is the DOT text, ``.view_graph`` what it
    was written from. In Jupyter it displays as inline SVG rendered by viz's own runner (with
    its timeout and ``MINIGRAD_DOT``); to write a file use ``viz.render``.
    """

    view_graph: ViewGraph | None = None
    timeout: float = 30

    def svg(self, timeout: float | None = None) -> str:
        """The SVG text, rendered by ``dot`` with a timeout."""
        return self.rendered("svg", timeout).decode("utf-8")

    def rendered(self, format: str = "svg", timeout: float | None = None) -> bytes:
        """The output of ``dot -T<format>`` on this drawing (timeout: ``self.timeout``)."""
        nodes = len(self.view_graph.nodes) if self.view_graph is not None else None
        timeout = self.timeout if timeout is None else timeout
        return runner.run_dot(self.source, format, timeout, nodes)

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_image_svg_xml(self) -> str:  # what graphviz's _repr_mimebundle_ calls
        return self.svg()

    def _repr_image_png(self) -> bytes:
        return self.rendered("png")

    def _repr_image_jpeg(self) -> bytes:
        return self.rendered("jpeg")


def draw(
    root: Any,
    *,
    values: bool | None = None,
    grads: bool = False,
    highlight: Any = None,
    shared: str = "auto",
    fold: int | None = None,
    max_nodes: int = 2000,
    rankdir: str = "auto",
    granularity: str = "auto",
    direction: str = "forward",
    term: tuple[int, int] | None = None,
) -> Drawing:
    """Draw the graph behind ``root`` (usually the loss).

    - values: None (default) shows a tensor of at most 4 entries with its values, signed
      (``h_2 = [0.31, -0.72]``; with ``grads`` also ``grad [1.2, -0.05]``), a bigger one by shape
      and gradient norm; True adds min/mean/max of the bigger ones; False: shapes only.
    - grads: colour edges by the norm of the gradient that flowed along them (needs
      ``loss.backward(retain_graph=True, record=True)``); the scale stretches to the graph's own
      range when its norms span fewer than 3 decades.
    - highlight: a tensor (or name) whose paths to ``root`` are drawn bold.
    - shared: "auto", "once", "per_step" or "sum" (copies ``W_k`` in each step, each with an edge
      ``||dL/dW_k||`` into ``W``: ``dL/dW = sum_k dL/dW_k``; auto's choice in the formula view).
    - fold: k keeps the first and last k time steps, 0 draws the rolled view.
    - max_nodes: refuse bigger graphs before ``dot`` runs.
    - rankdir: "auto" (default): time steps as columns, side by side left to right in time
      order ("TB"), any other graph "LR"; or Graphviz's "LR", "TB", "RL", "BT".
    - granularity: "auto" (default) picks "formula" for an RNN built by models/, "gate" for an
      LSTM or GRU, "op" for any other graph. "formula": one node per term of the notes (``x_t``,
      ``V x_t``, ``W h_{t-1}``, ``a_t``, ``h_t``, ``z_t``, ``yhat_t``, ``y_t``, ``L_t``);
      "gate": one node per gate, parameters written inside the gates that use them; "op": one
      node per operation.
    - direction: "forward" (default) draws arrows the way values flow; "backward" the way the
      gradient flows, from the loss back to the parameters, each labelled with its norm.
    - term: ``(t, k)`` with ``highlight=`` a parameter P draws in bold the path of the k-th term
      of dL_t/dP (``L_t -> yhat_t -> h_t -> ... -> h_k -> step k's use of P``) and states its
      norm in the title; everything else is faded. See ``viz.term``.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"viz: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    view = build(
        root,
        values=values,
        grads=grads,
        highlight=highlight,
        shared=shared,
        fold_steps=fold,
        max_nodes=max_nodes,
        granularity=granularity,
        direction=direction,
        term=term,
    )
    return to_dot(view, rankdir)


def html(text: str) -> str:
    """Escape ``text`` for the inside of an HTML-like label; newlines become line breaks."""
    text = _CONTROL.sub("?", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;").replace("\n", "<BR/>")


def plain(text: str) -> graphviz.quoting.NoHtml:
    """Escape ``text`` for a quoted DOT attribute (tooltips); never read as HTML."""
    text = _CONTROL.sub("?", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return graphviz.nohtml(text)


def label(
    title: str, lines: list[str], bold: bool = True, size: int = 8, left: bool = False
) -> str:
    """An HTML-like label: ``title`` (bold) over smaller ``lines``; ``left``-aligned or centred."""
    parts = [f"<B>{html(title)}</B>" if bold else html(title)] if title else []
    parts += [f'<FONT POINT-SIZE="{size}">{html(line)}</FONT>' for line in lines]
    if left:
        return "<" + "".join(p + '<BR ALIGN="LEFT"/>' for p in parts) + ">"
    return "<" + "<BR/>".join(parts) + ">"


def to_dot(view: ViewGraph, rankdir: str = "auto") -> Drawing:
    if rankdir == "auto":
        rankdir = "TB" if any(c.step is not None for c in view.clusters) else "LR"
    graph = Drawing(
        name="minigrad",
        graph_attr={
            "rankdir": rankdir,
            "fontname": style.FONT,
            "fontsize": "11",
            "label": label(view.title[0], view.title[1:], size=9, left=True),
            "labelloc": "t",
            "labeljust": "l",
            "nodesep": "0.15",
            "ranksep": "0.3",
            "newrank": "true",  # rank groups across clusters (viz.layout's rows)
        },
        node_attr={
            "fontname": style.FONT,
            "fontsize": "10",
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": style.DATA_FILL,
            "color": style.DATA_BORDER,
            "margin": "0.06,0.03",
            "height": "0.3",
        },
        edge_attr={"color": style.EDGE_COLOR, "arrowsize": "0.6", "fontname": style.FONT},
    )
    graph.view_graph = view
    if len(view.nodes) > BIG_GRAPH_NODES:
        # cap dot's network-simplex passes: on a 7,000-node unrolled RNN this cuts dot's time
        # from about 5 s to 2 s (2-core machine) for a layout that looks the same
        graph.graph_attr["nslimit"] = "0.2"
    members: dict[int, list[Node]] = {}
    for node in view.nodes:
        members.setdefault(id(node.cluster), []).append(node)
    children: dict[int, list[Cluster]] = {}
    for cluster in view.clusters:
        children.setdefault(id(cluster.parent), []).append(cluster)
    if view.step_tails:
        _ruler(graph, view)
    for node in members.get(id(None), []):
        _node(graph, node)
    for cluster in children.get(id(None), []):
        _cluster(graph, view, cluster, members, children)
    scale = style.Scale.for_norms(e.norm for e in view.edges if e.style != "cut")
    if view.grads:
        _scale_legend(graph, scale, bool(view.steps))
    for edge in view.edges:
        _edge(graph, view, edge, scale)
    _rows(graph, view)
    return graph


def _ruler(graph, view: ViewGraph) -> None:
    """Steps in time order across the picture.

    dot orders the nodes of a rank by trying to uncross edges, starting from a first guess
    that follows the order in which nodes are declared; it keeps flat edges between top-level
    nodes in order, but moves whole clusters freely. So an invisible ruler goes after every
    step, one point per step joined left to right, each point tied to its step's last node and
    state: putting two steps out of order would cross their ties. The ruler is declared first
    so that dot's first guess already has the steps in order.
    """
    ruler = [f"step_order_{i}" for i in range(len(view.step_tails))]
    with graph.subgraph() as row:
        row.attr(rank="max")
        for point in ruler:
            row.node(point, label="", shape="point", style="invis", width="0", height="0")
    for before, after in zip(ruler, ruler[1:]):
        graph.edge(before, after, style="invis")
    states = view.step_anchors if len(view.step_anchors) == len(ruler) else [None] * len(ruler)
    for last, state, point in zip(view.step_tails, states, ruler):
        graph.edge(last.id, point, style="invis")
        if state is not None and state is not last:
            graph.edge(state.id, point, style="invis")


def _rows(graph, view: ViewGraph) -> None:
    """The rest of ``viz.layout``: the steps lined up, the shared parameters before them, the
    running sum of the losses after them."""
    if view.shared_params:
        with graph.subgraph() as row:
            row.attr(rank="min")
            for node in view.shared_params:
                row.node(node.id)
    legends = [n.id for n in view.nodes if n.cluster is not None and n.cluster.legend]
    legends += ["legend_scale"] if view.grads else []
    if view.step_top is not None and legends and not view.shared_params:
        # the legends in a row of their own above the steps, not beside them
        graph.edge(legends[0], view.step_top.id, style="invis")
    for nodes in (view.step_anchors, view.loss_row):
        if nodes:
            with graph.subgraph() as row:
                row.attr(rank="same")
                for node in nodes:
                    row.node(node.id)


def _cluster(graph, view, cluster, members, children) -> None:
    with graph.subgraph(name=cluster.id) as sub:
        fill = style.shade(cluster.shade_norm) if view.grads else None
        sub.attr(
            label=label(cluster.label, cluster.lines, size=9),
            style="rounded,dashed" + ("" if cluster.legend else ",filled")
            if cluster.legend or cluster.recomputed else "rounded,filled",
            fillcolor=fill or (style.LEGEND_FILL if cluster.legend else style.CLUSTER_FILL),
            color=style.CLUSTER_BORDER,
            labeljust="l",
            fontsize="11",
            fontname=style.FONT,
        )
        for node in members.get(id(cluster), []):
            _node(sub, node)
        for child in children.get(id(cluster), []):
            _cluster(sub, view, child, members, children)


_KIND_ATTRS = {
    OP: {
        "shape": "ellipse",
        "fillcolor": style.OP_FILL,
        "color": style.OP_BORDER,
        "fontsize": "9",
        "margin": "0.03,0.01",
        "height": "0.25",
    },
    DATA: {},
    INPUT: {"fillcolor": style.INPUT_FILL, "color": style.INPUT_BORDER},
    PARAM: {
        "fillcolor": style.PARAM_FILL,
        "color": style.PARAM_BORDER,
        "style": "rounded,filled,bold",
    },
    COPY: {
        "fillcolor": style.PARAM_FILL,
        "color": style.PARAM_BORDER,
        "style": "rounded,filled,dashed",
    },
    CUT: {"style": "rounded,dashed", "color": style.CUT_COLOR, "fontcolor": style.CUT_COLOR},
    FOLD: {
        "shape": "box3d",
        "style": "filled",
        "fillcolor": style.FOLD_FILL,
        "color": style.FOLD_BORDER,
        "fontsize": "12",
    },
}


def _node(graph, node: Node) -> None:
    attrs = dict(_KIND_ATTRS[node.kind])
    if node.is_root:
        attrs["peripheries"] = "2"
    if node.stored:
        attrs.update(penwidth="3", color=style.STORED_COLOR)
    if style.is_bad(node.grad_norm):
        attrs.update(color=style.BAD_COLOR, penwidth="2.5")
    if node.emphasis == "bold":
        attrs.update(color=style.HIGHLIGHT_COLOR, penwidth="2.5")
    elif node.emphasis == "faded":
        attrs.update(color=style.FADED_COLOR, fontcolor=style.FADED_FONT)
        if "filled" in attrs.get("style", "filled"):
            attrs["fillcolor"] = style.FADED_FILL
    bold_title = node.kind not in (OP, CUT)
    graph.node(
        node.id,
        label(node.title, node.lines, bold=bold_title),
        tooltip=plain(node.tooltip or node.title),
        **attrs,
    )


def _edge(graph, view, edge: Edge, scale: style.Scale) -> None:
    attrs: dict[str, str] = {}
    if edge.style == "cut":
        attrs.update(style="dashed", color=style.CUT_COLOR, arrowhead="tee")
    elif view.grads:
        color, width, line = style.edge_style(edge.norm, scale)
        attrs.update(color=color, penwidth=str(width))
        if line != "solid":
            attrs["style"] = line
        attrs["tooltip"] = plain(f"||gradient along this edge|| {style.fmt_norm(edge.norm)}")
    if edge.style == "loop":
        attrs.update(label=label(edge.label, [], size=10), penwidth="2", fontsize="12")
    elif edge.style == "sum" and edge.label:
        # beside the copy it leaves, where it is read as that copy's term, not mid-way
        attrs.update(headlabel=label("", [edge.label], size=7), labeldistance="2.2",
                     labelangle="-25", labelfontcolor=style.EDGE_LABEL_COLOR)
    elif edge.label:
        attrs.update(label=label("", [edge.label], size=7), fontcolor=style.EDGE_LABEL_COLOR)
    if edge.emphasis == "bold":
        width = float(attrs.get("penwidth", "1"))
        attrs["penwidth"] = str(round(width + 2.0, 2))
        if not view.grads:
            attrs["color"] = style.HIGHLIGHT_COLOR
    elif edge.emphasis == "faded":
        attrs.update(color=style.FADED_COLOR, penwidth="0.8", fontcolor=style.FADED_FONT)
        if "headlabel" in attrs:
            attrs["labelfontcolor"] = style.FADED_FONT
    # against the gradient's flow, a value's edge points back at its source (a copy's edge into
    # its parameter's sum already is a gradient's)
    reverse = view.direction == "backward" and edge.style not in ("sum", "cut")
    if reverse and view.grads and edge.norm is not None and "label" not in attrs:
        attrs.update(label=label("", [style.fmt_norm(edge.norm)], size=7))
    if edge.backward:  # see viz.layout: ranked and routed as a forward edge, drawn reversed
        graph.edge(edge.head.id, edge.tail.id, dir="forward" if reverse else "back", **attrs)
    else:
        graph.edge(edge.tail.id, edge.head.id, **({"dir": "back"} if reverse else {}), **attrs)


def _scale_legend(graph, scale: style.Scale, steps: bool) -> None:
    """One table: the colour of each class for edges and (with time steps) of each decade for
    the step shading; a stretched edge scale names its range."""

    def row(title: str, colours, texts: list[str], dark: set[int]) -> str:
        cells = [f'<TD ALIGN="LEFT"><FONT POINT-SIZE="8">{html(title)}</FONT></TD>']
        for i, (colour, text) in enumerate(zip(colours, texts, strict=True)):
            font = ' COLOR="white"' if i in dark else ""
            cells.append(
                f'<TD BGCOLOR="{colour}"><FONT POINT-SIZE="8"{font}>{html(text)}</FONT></TD>'
            )
        return "<TR>" + "".join(cells) + "</TR>"

    texts = scale.labels()
    n = len(texts)
    edge_colours = [*style.EDGE_SCALE, style.ZERO_COLOR, style.BAD_COLOR, style.NO_GRAD_COLOR]
    edge_texts = [*texts, "0", "NaN/Inf", "none"]
    table = (
        '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
        + row("edge ||grad||", edge_colours, edge_texts, set(range(style.DARK_FROM, n + 2)))
        + (row("step ||dL/dh_t||", style.SHADE_SCALE, style.scale_labels(), set()) if steps else "")
        + "</TABLE>>"
    )
    title = "gradient norm, log10 scale"
    if scale.stretched:
        title = (
            f"edge scale stretched to this graph's range {style.fmt_norm(scale.low)} \u2026 "
            f"{style.fmt_norm(scale.high)}; step shading: one colour per decade"
            if steps
            else f"gradient norm, log10 scale stretched to {style.fmt_norm(scale.low)} \u2026 "
            f"{style.fmt_norm(scale.high)}"
        )
    with graph.subgraph(name="cluster_legend_scale") as sub:
        sub.attr(
            label=title,
            style="rounded",
            color=style.CLUSTER_BORDER,
            fontsize="10",
            fontname=style.FONT,
        )
        sub.node(
            "legend_scale",
            table,
            shape="plaintext",
            style="",
            tooltip="stretched: equal steps of log10 over this graph's own range"
            if scale.stretched
            else "fixed scale: one colour per decade, the same in every drawing",
        )
