"""Parameters used at every step: drawn once, copied into each step, or copied and summed.

- "once": each parameter one node, with an edge into every use;
- "per_step": a dashed copy of it inside each step, labelled with that step's term of its
  gradient; the parameter itself in a legend with its total;
- "sum": the notes' sum made visible. Each step's use is a copy ``W_k``; an edge from every copy,
  labelled ``||dL/dW_k||``, leads into the one node ``W``, which states
  ``dL/dW = sum_k dL/dW_k`` and carries the total. It is the default of the formula view.
"""

from __future__ import annotations

from . import style
from .graph import COPY, PARAM, Cluster, Edge, Node, ViewGraph

SHARED_MODES = ("auto", "once", "per_step", "sum")
# "once" draws each parameter with an edge into every step; dot's layout time grows steeply
# with such long edges, so "auto" switches to per-step copies above this many nodes.
AUTO_ONCE_MAX_NODES = 400


def share(view: ViewGraph, nodes: list[Node], shared: str) -> None:
    """Apply the mode ``shared`` to the parameter nodes among ``nodes``."""
    view.shared = _choose(view, shared)
    params = [n for n in nodes if n.kind == PARAM]
    if view.shared == "per_step":
        _copy_per_step(view, params)
    elif view.shared == "sum":
        _copy_and_sum(view, params)


def _choose(view: ViewGraph, shared: str) -> str:
    if shared != "auto":
        return shared
    if view.granularity != "op" and any(c.step is not None for c in view.clusters):
        return "sum"
    in_clusters = any(
        edge.tail.kind == PARAM and edge.head.cluster is not None for edge in view.edges
    )
    if not in_clusters or len(view.nodes) <= AUTO_ONCE_MAX_NODES:
        return "once"
    return "per_step"


def _copy_per_step(view: ViewGraph, params: list[Node]) -> None:
    """Replace each parameter's edges into a cluster by one dashed copy inside that cluster.

    The copy is labelled with that step's term of the sum ``dL/dW = sum_k dL/dW_k`` (the norm
    of the gradient sent to ``W`` by its use in that step); the parameter itself moves to a
    legend cluster with its total gradient.
    """
    legend = Cluster("parameters", legend=True)
    _copies(view, params)
    for p in params:
        p.cluster = legend
    if params:
        view.clusters.append(legend)


def _copies(view: ViewGraph, params: list[Node]) -> dict[tuple[int, int], Node]:
    """One copy of a parameter per step it is used in; its edges into the step leave the copy."""
    param_nodes = {id(p) for p in params}
    copies: dict[tuple[int, int], Node] = {}
    for edge in view.edges:
        source = edge.tail
        cluster = edge.head.cluster
        if id(source) not in param_nodes or cluster is None:
            continue
        key = (id(source), id(cluster))
        copy = copies.get(key)
        if copy is None:
            copy = copies[key] = Node(COPY, source.tensor, cluster)
            copy.term = edge.norm
            view.nodes.append(copy)
        else:
            copy.term = None  # several uses in one step: norms of the parts do not add up
        copy.uses += 1
        edge.tail = copy
    return copies


def _copy_and_sum(view: ViewGraph, params: list[Node]) -> None:
    """Copies ``W_k`` in the steps, each with an edge into ``W``: the sum over k, drawn."""
    by_param: dict[int, Node] = {id(p): p for p in params}
    summed: list[Node] = []
    for (param_id, _), copy in _copies(view, params).items():
        param = by_param[param_id]
        step = copy.cluster.step_of()
        copy.alias = f"{param.tensor.name or 'parameter'}_{step if step is not None else 'k'}"
        edge = Edge(copy, param, copy.term, style="sum")
        if view.grads:
            term = style.fmt_norm(copy.term) if copy.uses == 1 else f"{copy.uses} uses"
            edge.label = f"||dL/d{copy.alias}|| = {term}"
        view.edges.append(edge)
        if param not in summed:
            summed.append(param)
    view.summed_params = summed
