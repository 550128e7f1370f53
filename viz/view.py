"""The view graph: a small, renderer-independent description of what to draw.

The graph behind a tensor is walked once with the engine's own ``mg.topological_order``. In the
formula and gate views (``viz.formula``, the default for graphs built by models/) every named
tensor is one node and the unnamed operations between them are drawn inside it. In the op view
a tensor made by an op becomes the op's node and, when it has a name (``h_3``) or is the root, a
box of its own; an unnamed result is shown inside its op's node; a leaf becomes one node, except
an unnamed constant used by one op only, which is shown inside that op, and a leaf's transpose
used by one product, drawn inside the product. Every name scope becomes a cluster (nested scopes
nest). Then, in order: parameters are drawn once, copied into each step or copied and summed
(``viz.params``), paths or one term's path are highlighted (``viz.term``), time steps are
folded, the size is checked against ``max_nodes``, the layout is planned (``viz.layout``) and
only the surviving nodes get their labels (``viz.labels``). DOT (``viz.dot``) and the text
outline (``viz.text``) are both written from this."""

from __future__ import annotations

import re
from typing import Any

import minigrad as mg

from . import errors, fold, formula, labels, layout, params, segments
from . import term as term_view
from .graph import CUT, DATA, INPUT, OP, PARAM, Cluster, Edge, Node, ViewGraph

DIRECTIONS = ("forward", "backward")


def build(
    root: Any,
    *,
    values: bool | None = None,
    grads: bool = False,
    highlight: Any = None,
    shared: str = "auto",
    fold_steps: int | None = None,
    max_nodes: int = 2000,
    granularity: str = "auto",
    direction: str = "forward",
    term: tuple[int, int] | None = None,
) -> ViewGraph:
    """The view graph of everything ``root`` was computed from."""
    _check(root, shared=shared, fold_steps=fold_steps, max_nodes=max_nodes,
           granularity=granularity, direction=direction)
    if term is not None:
        term = term_view.check(term)
        if highlight is None:
            raise ValueError(
                "viz: term=(t, k) needs highlight= the parameter whose term to draw (e.g. W)"
            )
    order = mg.topological_order(root)
    for tensor in order:
        if tensor.released:
            raise errors.GraphReleasedError(
                "viz: the graph behind this tensor was released by backward(), which frees its "
                "links, so there is nothing left to draw. Call loss.backward(retain_graph=True) "
                "(with record=True to draw gradients) and then draw."
            )
    view = ViewGraph()
    view.grads = grads and root.grad_norm is not None
    view.grads_missing = grads and not view.grads
    view.granularity = formula.detect(order) if granularity == "auto" else granularity
    view.direction = direction
    clusters = _Clusters(view)
    if view.granularity == "op":
        nodes_of = _walk(view, order, clusters)
        _fold_constants(view)
        segments.fold_unpacking(view)
    else:
        nodes_of = formula.walk(view, order, clusters, view.granularity)
    view.clusters.sort(key=_natural_path)
    view.nodes[-1].is_root = True
    _mark_detached(view)
    _shade_steps(view)
    params.share(view, [nodes_of[id(t)] for t in order if id(t) in nodes_of], shared)
    if term is not None:
        term_view.apply(view, order, term, _parameter(order, highlight))
    elif highlight is not None:
        _highlight(view, order, highlight)
    view.steps = len({c.step for c in view.clusters if c.step is not None})
    if fold_steps is not None:
        fold.fold(view, fold_steps)
    if len(view.nodes) > max_nodes:
        raise errors.too_large(len(view.nodes), max_nodes, view.steps)
    for i, node in enumerate(view.nodes):
        node.id = f"n{i}"
    for i, cluster in enumerate(view.clusters):
        cluster.id = f"cluster_{i}"
    layout.arrange(view)
    labels.describe(view, root, values=values, highlight=highlight, term=term)
    segments.mark(view)
    return view


def _check(root: Any, *, shared: str, fold_steps: Any, max_nodes: Any, granularity: str,
           direction: str) -> None:
    """Refuse a bad option before any work, naming it and what it may be."""
    if not isinstance(root, mg.Tensor):
        raise TypeError(f"viz: expected a minigrad Tensor, got {type(root).__name__}")
    for name, value, allowed in (
        ("granularity", granularity, formula.GRANULARITIES),
        ("direction", direction, DIRECTIONS),
        ("shared", shared, params.SHARED_MODES),
    ):
        if value not in allowed:
            raise ValueError(f"viz: {name} must be one of {allowed}, got {value!r}")
    if fold_steps is not None and (
        isinstance(fold_steps, bool) or not isinstance(fold_steps, int) or fold_steps < 0
    ):
        raise ValueError(f"viz: fold must be None or an int >= 0, got {fold_steps!r}")
    if not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"viz: max_nodes must be a positive int, got {max_nodes!r}")


class _Clusters:
    """One cluster per name scope, made on first use (nested scopes nest)."""

    def __init__(self, view: ViewGraph) -> None:
        self.view = view
        self.found: dict[str, Cluster | None] = {"": None}

    def __call__(self, scope: str) -> Cluster | None:
        found = self.found.get(scope, False)
        if found is not False:
            return found
        parent_scope, _, name = scope.rpartition("/")
        cluster = Cluster(name, self(parent_scope))
        self.view.clusters.append(cluster)
        self.found[scope] = cluster
        return cluster


def _walk(view: ViewGraph, order: list, cluster_of: _Clusters) -> dict[int, Node]:
    """One pass in topological order: one node per leaf; per op an op node and, when the result
    is named (``h_3``, ``L``) or is the root, a box for the result. A leaf's transpose used
    once, by a product, is drawn inside that product."""
    root = order[-1]
    folded = _leaf_transposes(order)
    nodes_of: dict[int, Node] = {}
    for tensor in order:
        cluster = cluster_of(tensor.scope)
        if id(tensor) in folded:
            continue
        if tensor.op is None:
            node = Node(PARAM if formula.is_parameter(tensor) else INPUT, tensor, cluster)
            node.grad_norm = tensor.grad_norm
            view.nodes.append(node)
        else:
            op = Node(OP, tensor, cluster)
            norms = tensor.edge_grad_norms or (None,) * len(tensor.parents)
            for i, (parent, norm) in enumerate(zip(tensor.parents, norms, strict=True)):
                if id(parent) in folded:  # ||grad of W.T|| = ||grad of W||: the same norm
                    op.transposed[i] = parent = parent.parents[0]
                view.edges.append(Edge(nodes_of[id(parent)], op, norm, origin=(tensor, i)))
            if tensor.name or tensor is root:
                node = Node(DATA, tensor, cluster)
                node.grad_norm = tensor.grad_norm
                view.nodes += (op, node)
                view.edges.append(Edge(op, node, tensor.grad_norm, origin=(tensor, -1)))
            else:  # an unnamed intermediate: the op's node shows its result too
                node = op
                op.shows_result = True
                op.grad_norm = tensor.grad_norm
                view.nodes.append(op)
        nodes_of[id(tensor)] = node
    return nodes_of


def _leaf_transposes(order: list) -> set[int]:
    """The unnamed transposes of a leaf whose one use is a product (``x @ W.T``)."""
    uses: dict[int, list] = {}
    for tensor in order:
        for parent in tensor.parents:
            uses.setdefault(id(parent), []).append(tensor)
    return {
        id(t)
        for t in order
        if t.op == "transpose"
        and not t.name
        and t is not order[-1]
        and t.parents[0].op is None
        and [u.op for u in uses.get(id(t), [])] == ["matmul"]
    }


def _fold_constants(view: ViewGraph) -> None:
    """Draw each unnamed constant leaf (an input x_t, a target, a number) inside the one op that
    uses it: such boxes say little and each would stretch the step by one more node."""
    uses: dict[int, list[Edge]] = {}
    for edge in view.edges:
        uses.setdefault(id(edge.tail), []).append(edge)
    folded: set[int] = set()
    for node in view.nodes:
        tensor = node.tensor
        if node.kind != INPUT or tensor.name or getattr(tensor, "_detached_from", None) is not None:
            continue
        edges = uses.get(id(node), [])
        if len(edges) != 1 or edges[0].head.kind != OP:
            continue
        op = edges[0].head
        parents = op.tensor.parents
        positions = [
            i for i, p in enumerate(parents) if p is tensor or op.transposed.get(i) is tensor
        ]
        op.consts[positions[0]] = tensor
        folded.add(id(node))
    if folded:
        view.nodes = [n for n in view.nodes if id(n) not in folded]
        view.edges = [e for e in view.edges if id(e.tail) not in folded]


def _natural_path(cluster: Cluster) -> tuple:
    """Sort clusters by scope path with numbers compared as numbers (t=2 before t=10)."""
    return tuple(
        tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))
        for name in cluster.path()
    )


def _mark_detached(view: ViewGraph) -> None:
    """A dashed cut mark before each tensor made by ``detach()``, naming its source.

    The engine keeps only a weak reference to the source, which is usually gone by the time a
    truncated-BPTT chunk is drawn; the mark then names it by the detached tensor's own name.
    """
    nodes: list[Node] = []
    for node in view.nodes:
        if node.kind == INPUT and getattr(node.tensor, "_detached_from", None) is not None:
            mark = Node(CUT, node.tensor, node.cluster)
            nodes.append(mark)
            view.edges.append(Edge(mark, node, None, style="cut"))
        nodes.append(node)
    view.nodes = nodes


def _shade_steps(view: ViewGraph) -> None:
    """Each ``t=N`` cluster remembers ``||dL/dh_N||``, from the node named ``h_N`` in it."""
    by_cluster = {id(c): c for c in view.clusters if c.step is not None}
    for node in view.nodes:
        cluster = node.cluster
        if (
            node.kind in (DATA, PARAM, INPUT)
            and cluster is not None
            and id(cluster) in by_cluster
            and node.tensor.name == f"h_{cluster.step}"
        ):
            cluster.shade_norm = node.tensor.grad_norm


def _highlight(view: ViewGraph, order: list, target: Any) -> None:
    """Bold every path from the root back to ``target``; fade the rest."""
    targets = _resolve(order, target)
    reach: set[int] = set()
    for tensor in order:  # a tensor is on a path if it is a target or uses one on a path
        if id(tensor) in targets or any(id(p) in reach for p in tensor.parents):
            reach.add(id(tensor))
    for node in view.nodes:
        on_path = node.tensor is not None and id(node.tensor) in reach and node.kind != CUT
        node.emphasis = "bold" if on_path else "faded"
    for edge in view.edges:
        on_path = edge.tail.emphasis == "bold" and edge.head.emphasis == "bold"
        edge.emphasis = "bold" if on_path else "faded"


def _parameter(order: list, target: Any) -> Any:
    """The one leaf tensor ``target`` (a Tensor or a name) stands for."""
    found = [t for t in order if id(t) in _resolve(order, target) and t.op is None]
    if len(found) != 1:
        raise ValueError(
            f"viz: term= needs highlight= to name one parameter of the graph; it names {len(found)}"
        )
    return found[0]


def _resolve(order: list, target: Any) -> set[int]:
    if isinstance(target, mg.Tensor):
        if not any(t is target for t in order):
            raise ValueError("viz: highlight= names a tensor that is not part of this graph")
        return {id(target)}
    if isinstance(target, str):
        found = {id(t) for t in order if t.name == target}
        if not found:
            names = sorted({t.name for t in order if t.op is None and t.requires_grad and t.name})
            raise ValueError(
                f"viz: highlight={target!r}: no tensor of that name in this graph "
                f"(parameters: {', '.join(names) or 'none named'})"
            )
        return found
    raise TypeError(f"viz: highlight must be a Tensor or a name, got {type(target).__name__}")
