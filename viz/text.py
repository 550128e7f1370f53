"""``text``: the view graph as an indented outline, for terminals and logs.

One line per node, under the clusters (name scopes) that hold it: ``n7  matmul(n5, n6)`` for an
op, ``n8  a_1 (1, 3) <- n7`` for a tensor; the ids are the DOT ids, so an outline and an SVG
can be read side by side. Marks: ``[param]``, ``[copy]`` (per-step parameter copy), ``[leaf]``,
``[cut]`` (detach), ``[fold]``; ``*`` before a node on a highlighted path.
"""

from __future__ import annotations

from typing import Any

from .graph import COPY, CUT, DATA, FOLD, INPUT, OP, PARAM, Cluster, Node, ViewGraph
from .view import build

MARKS = {
    PARAM: "[param] ",
    COPY: "[copy] ",
    INPUT: "[leaf] ",
    CUT: "[cut] ",
    FOLD: "[fold] ",
    DATA: "",
    OP: "",
}


def text(
    root: Any,
    *,
    values: bool | None = None,
    grads: bool = False,
    highlight: Any = None,
    shared: str = "auto",
    fold: int | None = None,
    max_nodes: int = 2000,
    granularity: str = "auto",
    direction: str = "forward",
    term: tuple[int, int] | None = None,
) -> str:
    """The graph behind ``root`` as an outline (options as in ``viz.draw``); print it."""
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
    return outline(view)


def outline(view: ViewGraph) -> str:
    inputs: dict[int, list[str]] = {}
    for edge in view.edges:
        note = {"cut": " (cut)", "loop": f" (loop {edge.label})"}.get(edge.style, "")
        inputs.setdefault(id(edge.head), []).append(edge.tail.id + note)
    members: dict[int, list[Node]] = {}
    for node in view.nodes:
        members.setdefault(id(node.cluster), []).append(node)
    children: dict[int, list[Cluster]] = {}
    for cluster in view.clusters:
        children.setdefault(id(cluster.parent), []).append(cluster)

    lines = [_one_line(view.title[0])] + ["# " + _one_line(t) for t in view.title[1:]]

    def emit(cluster: Cluster | None, depth: int) -> None:
        pad = "  " * depth
        for node in members.get(id(cluster), []):
            lines.append(pad + _node_line(node, inputs.get(id(node), [])))
        for child in children.get(id(cluster), []):
            extra = "  " + "  ".join(child.lines) if child.lines else ""
            lines.append(pad + _one_line(child.label + extra))
            emit(child, depth + 1)

    emit(None, 0)
    return "\n".join(lines) + "\n"


def _node_line(node: Node, inputs: list[str]) -> str:
    star = "*" if node.emphasis == "bold" else ""
    if node.kind == OP:
        args = _operands(node, inputs)
        body = f"{node.title}({', '.join(args)})"
        if node.shows_result:
            body += "  " + "  ".join(node.lines[len(node.consts) :])  # after the constants' lines
    else:
        body = MARKS[node.kind] + "  ".join(p for p in [node.title, *node.lines] if p)
        if inputs:
            body += " <- " + ", ".join(inputs)
    return f"{star}{node.id:<5} {_one_line(body)}"


def _operands(node: Node, inputs: list[str]) -> list[str]:
    """The op's inputs in operand order, constants drawn inside the op written in place."""
    count = len(node.tensor.parents)
    if len(inputs) + len(node.consts) != count:  # e.g. folded edges merged
        return inputs + [_const(c) for _, c in sorted(node.consts.items())]
    rest = iter(inputs)
    return [_const(node.consts[i]) if i in node.consts else next(rest) for i in range(count)]


def _const(tensor: Any) -> str:
    if tensor.data.size == 1:
        return f"{tensor.data.item():.4g}"
    return "const " + str(tensor.shape)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")
