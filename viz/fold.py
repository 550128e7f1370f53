"""Folding long sequences, on the view graph.

Time steps are the clusters named ``t=N``. A node outside every step (the running sum of the
step losses, say) belongs to the latest step among its inputs, so it folds away with them.
``fold=k`` keeps the first and last k steps and collapses the middle into one box; ``fold=0``
keeps the last step only and turns the edges from the step before it into a loop.
"""

from __future__ import annotations

import re

from . import style
from .graph import FOLD, Edge, Node


def fold(view, k: int) -> None:
    """Fold ``view`` in place (nothing to do when it has no more than 2k steps)."""
    steps = sorted({c.step for c in view.clusters if c.step is not None})
    if not steps or (k > 0 and len(steps) <= 2 * k) or (k == 0 and len(steps) < 2):
        return
    kept = set(steps[-1:]) if k == 0 else set(steps[:k] + steps[-k:])
    step_of = _step_of_nodes(view)
    removed = {
        id(n) for n in view.nodes if step_of[id(n)] is not None and step_of[id(n)] not in kept
    }
    had_edges = {id(e.tail) for e in view.edges} | {id(e.head) for e in view.edges}
    middle = [s for s in steps if s not in kept]

    if k > 0:
        box = Node(FOLD, None, None)
        box.title = f"t={middle[0]} \u2026 {middle[-1]} (\u00d7 {len(middle)})"
        box.lines = _norm_range(view, middle)
        if any(n.emphasis for n in view.nodes):
            bold = any(n.emphasis == "bold" for n in view.nodes if id(n) in removed)
            box.emphasis = "bold" if bold else "faded"
        view.folded = f"steps t={middle[0]} \u2026 {middle[-1]} folded into one box"
    else:
        last = steps[-1]
        counterpart = counterparts(view, step_of, steps[-2], last)
        view.folded = f"rolled: the step t={last} stands for t={steps[0]} \u2026 {last}"

    edges: dict[tuple[int, int, str], Edge] = {}
    for edge in view.edges:
        tail_gone, head_gone = id(edge.tail) in removed, id(edge.head) in removed
        if tail_gone and head_gone:
            continue
        tail, head, style_ = edge.tail, edge.head, edge.style
        if k > 0:
            tail = box if tail_gone else tail
            head = box if head_gone else head
        elif head_gone or (tail_gone and (edge.style == "sum" or head.cluster is None)):
            continue  # the rolled step stands for all: its own copies and loss edges are enough
        elif tail_gone:
            tail = counterpart.get(id(edge.tail))
            if tail is None:
                continue
            style_ = "loop"
        key = (id(tail), id(head), style_)
        merged = edges.get(key)
        if merged is None:
            merged = edges[key] = Edge(tail, head, edge.norm, style_)
            merged.emphasis = edge.emphasis
            merged.label = edge.label if (tail, head) == (edge.tail, edge.head) else ""
            if style_ == "loop":
                merged.label = f"\u00d7 {len(steps)}"
        else:
            merged.norm = _larger(merged.norm, edge.norm)
            if edge.emphasis == "bold":
                merged.emphasis = "bold"
    view.edges = list(edges.values())

    linked = {id(e.tail) for e in view.edges} | {id(e.head) for e in view.edges}
    nodes, placed = [], False
    for node in view.nodes:
        if id(node) in removed:
            if k > 0 and not placed:  # the box takes the place of the first folded node
                nodes.append(box)
                placed = True
            continue
        if id(node) in had_edges and id(node) not in linked:
            continue  # e.g. h_0 in the rolled view: its only edge went into a dropped step
        nodes.append(node)
    view.nodes = nodes
    _drop_empty_clusters(view)
    if k == 0:
        for cluster in view.clusters:
            if cluster.step == steps[-1]:
                cluster.label = f"t={steps[0]} \u2026 {steps[-1]} (rolled: t={steps[-1]} drawn)"


def _step_of_nodes(view) -> dict[int, int | None]:
    """A node's step: its cluster's ``t=N``, else the latest step among its inputs."""
    step_of = {id(n): (n.cluster.step_of() if n.cluster is not None else None) for n in view.nodes}
    inputs: dict[int, list] = {}
    for edge in view.edges:
        inputs.setdefault(id(edge.head), []).append(edge.tail)
    for node in view.nodes:  # topological order: inputs come first
        if step_of[id(node)] is None and id(node) in inputs:
            found = [step_of[id(t)] for t in inputs[id(node)] if step_of[id(t)] is not None]
            step_of[id(node)] = max(found) if found else None
    return step_of


def counterparts(view, step_of: dict, previous: int, last: int) -> dict:
    """For each node of step ``previous``, the node playing its part in step ``last``.

    Nodes are matched by kind, op, shape and name with the step number written generically
    (``h_7`` and ``h_8`` are both ``h_#``), so the recurrent edge ``h_7 -> step 8`` becomes the
    loop ``h_8 -> step 8``.
    """

    def signature(node, step: int) -> tuple:
        tensor = node.tensor
        name = node.alias or (tensor.name if tensor is not None and tensor.name else "")
        name = re.sub(rf"(?<![0-9]){step}(?![0-9])", "#", name)
        op = tensor.op if tensor is not None else None
        shape = tensor.shape if tensor is not None else None
        return node.kind, op, shape, name

    in_last: dict[tuple, object] = {}
    for node in view.nodes:
        if step_of[id(node)] == last:
            in_last.setdefault(signature(node, last), node)
    return {
        id(node): in_last[signature(node, previous)]
        for node in view.nodes
        if step_of[id(node)] == previous and signature(node, previous) in in_last
    }


def _norm_range(view, middle: list[int]) -> list[str]:
    wanted = set(middle)
    norms = [c.shade_norm for c in view.clusters if c.step in wanted and c.shade_norm is not None]
    if not norms:
        return []
    finite = [n for n in norms if not style.is_bad(n)]
    text = f"{style.fmt_norm(min(finite))} \u2026 {style.fmt_norm(max(finite))}" if finite else ""
    if len(finite) < len(norms):
        text = (text + ", " if text else "") + "NaN/Inf"
    return ["||dL/dh_t|| " + text]


def _larger(a: float | None, b: float | None) -> float | None:
    if a is None or style.is_bad(b):
        return b
    if b is None or style.is_bad(a):
        return a
    return max(a, b)


def _drop_empty_clusters(view) -> None:
    used = set()
    for node in view.nodes:
        cluster = node.cluster
        while cluster is not None and id(cluster) not in used:
            used.add(id(cluster))
            cluster = cluster.parent
    view.clusters = [c for c in view.clusters if id(c) in used]
