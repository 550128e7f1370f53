"""The formula view: a graph drawn in the notes' terms, one node per named tensor.

models/ names what the notes name (``x_3``, ``V x_3``, ``W h_2``, ``a_3``, ``h_3``, ``z_3``,
``yhat_3``, ``y_3``, ``L_3``; an LSTM's gates ``i_3 f_3 g_3 o_3 c_3``, a GRU's ``r_3 z_3 n_3``),
so this view needs nothing from models but those names: every named tensor (and the root) is one
node, and the unnamed operations between named tensors (a transpose, the adds of ``a_t``, the
running sum of the losses) are drawn inside the named tensor they feed. An unnamed result used
more than once stays an operation of its own, since it belongs to no single term.

A leaf whose name is time-indexed (``h_0``, ``x_3``, ``y_3``) is data, even when it requires
grad (an initial state ``h_0`` the user differentiates); other leaves that require grad are
parameters. With ``f_y`` the identity, ``yhat_t`` is ``z_t`` itself (one tensor, named
``yhat_t``): the view draws it as the two terms ``z_t -> yhat_t``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .graph import DATA, INPUT, OP, PARAM, Edge, Node, ViewGraph

GRANULARITIES = ("auto", "op", "formula", "gate")
TIME_INDEXED = re.compile(r"_(\d+|t|\{t-1\})$")
_STEP_NAME = re.compile(r"^([A-Za-z]+)_(\d+)$")
# the names of one step that tell a gated cell: an LSTM's cell and forget gate, a GRU's reset
# gate and candidate
_GATED = ({"c", "f"}, {"r", "n"})


def detect(order: list) -> str:
    """"gate" for an LSTM or GRU built by models/, "formula" for the notes' RNN, else "op".

    A graph speaks the notes' language when a state ``h_N`` was made inside the scope ``t=N``.
    """
    letters: dict[int, set[str]] = {}
    recurrent = False
    for tensor in order:
        match = _STEP_NAME.match(tensor.name or "")
        if match is None or tensor.op is None:
            continue
        step = int(match.group(2))
        letters.setdefault(step, set()).add(match.group(1))
        if match.group(1) == "h" and tensor.scope.rsplit("/", 1)[-1] == f"t={step}":
            recurrent = True
    if not recurrent:
        return "op"
    if any(gated <= names for names in letters.values() for gated in _GATED):
        return "gate"
    return "formula"


def is_parameter(tensor: Any) -> bool:
    """A leaf that requires grad and is not a time step's quantity (``h_0``, ``x_3``)."""
    return tensor.op is None and tensor.requires_grad and not TIME_INDEXED.search(tensor.name or "")


def walk(
    view: ViewGraph, order: list, cluster_of: Callable[[str], Any], granularity: str
) -> dict[int, Node]:
    """Fill ``view`` with one node per named tensor, leaf and shared unnamed result.

    In the gate view the parameters are written inside the gates that use them (``i_3`` uses
    ``V_i, W_i, b_i``), so that a step is its gates and nothing else.
    """
    root = order[-1]
    uses = use_counts(order)
    names = {t.name for t in order if t.name}
    nodes_of: dict[int, Node] = {}
    # what a tensor drawn inside a later node brings to it: its sources and parameters
    inside: dict[int, tuple[list[tuple[Node, float | None, tuple]], list]] = {}
    for tensor in order:
        count = uses.get(id(tensor), 0)
        cluster = cluster_of(tensor.scope)
        if tensor.op is None:
            if not tensor.name and not tensor.requires_grad and count == 1:
                inside[id(tensor)] = [], []  # a number or constant of the expression it feeds
                continue
            if granularity == "gate" and is_parameter(tensor):
                inside[id(tensor)] = [], [tensor]
                continue
            node = Node(PARAM if is_parameter(tensor) else INPUT, tensor, cluster)
        else:
            sources: list[tuple[Node, float | None, tuple]] = []
            params: list = []
            norms = tensor.edge_grad_norms or (None,) * len(tensor.parents)
            for i, (parent, norm) in enumerate(zip(tensor.parents, norms, strict=True)):
                if id(parent) not in inside:
                    sources.append((nodes_of[id(parent)], norm, (tensor, i)))
                    continue
                more, more_params = inside[id(parent)]
                sources += more
                params += [p for p in more_params if all(p is not q for q in params)]
            if not tensor.name and tensor is not root and count == 1:
                inside[id(tensor)] = sources, params
                continue
            node = Node(DATA if tensor.name or tensor is root else OP, tensor, cluster)
            node.shows_result = node.kind == OP
            node.params_inside = params
            for source, norm, origin in sources:
                view.edges.append(Edge(source, node, norm, origin=origin))
            if granularity == "formula":
                node = _split_output(view, node, names)
        node.grad_norm = tensor.grad_norm
        view.nodes.append(node)
        nodes_of[id(tensor)] = node
    return nodes_of


def use_counts(order: list) -> dict[int, int]:
    """How many times each tensor is an operand (twice for ``x * x``), by id."""
    uses: dict[int, int] = {}
    for tensor in order:
        for parent in tensor.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1
    return uses


def _split_output(view: ViewGraph, node: Node, names: set[str]) -> Node:
    """``yhat_N`` with no ``z_N`` in the graph is ``z_N`` itself (f_y the identity): draw the
    node as ``z_N`` and add ``yhat_N`` after it; returns the ``yhat_N`` node."""
    match = _STEP_NAME.match(node.tensor.name or "")
    if match is None or match.group(1) != "yhat" or f"z_{match.group(2)}" in names:
        return node
    node.alias = f"z_{match.group(2)}"
    node.grad_norm = node.tensor.grad_norm
    view.nodes.append(node)
    output = Node(DATA, node.tensor, node.cluster)
    edge = Edge(node, output, node.tensor.grad_norm, origin=(node.tensor, -1))
    edge.label = "f_y = identity"
    view.edges.append(edge)
    return output
