"""The view graph's parts: clusters, nodes, edges. Plain data, no drawing and no minigrad.

``viz.view`` fills them from a minigrad graph, ``viz.fold`` rewrites them, ``viz.labels`` gives
them words, and ``viz.dot`` / ``viz.text`` write them out.
"""

from __future__ import annotations

import re
from typing import Any

# node kinds
OP, DATA, INPUT, PARAM, COPY, CUT, FOLD = "op", "data", "input", "param", "copy", "cut", "fold"
STEP = re.compile(r"t=(\d+)$")


class Cluster:
    """A box around the nodes of one name scope (or a legend)."""

    __slots__ = ("name", "parent", "legend", "step", "shade_norm", "label", "lines", "id",
                 "recomputed")

    def __init__(self, name: str, parent: Cluster | None = None, legend: bool = False) -> None:
        self.name = name
        self.parent = parent
        self.legend = legend
        match = STEP.match(name)
        self.step = int(match.group(1)) if match and not legend else None
        self.shade_norm: float | None = None  # ||dL/dh_t|| for a step, when recorded
        self.label = name
        self.lines: list[str] = []
        self.id = ""
        self.recomputed = False  # a checkpointed segment (viz.segments)

    def path(self) -> tuple[str, ...]:
        names, cluster = [], self
        while cluster is not None:
            names.append(cluster.name)
            cluster = cluster.parent
        return tuple(reversed(names))

    def step_of(self) -> int | None:
        """The ``t=N`` step this cluster lies in (itself or an enclosing scope)."""
        cluster = self
        while cluster is not None:
            if cluster.step is not None:
                return cluster.step
            cluster = cluster.parent
        return None


class Node:
    """One drawn box: an op, a tensor, a parameter copy, a cut mark or a folded range."""

    __slots__ = (
        "kind",
        "tensor",
        "cluster",
        "is_root",
        "emphasis",
        "title",
        "lines",
        "tooltip",
        "grad_norm",
        "term",
        "uses",
        "shows_result",
        "consts",
        "transposed",
        "alias",
        "params_inside",
        "id",
        "stored",
    )

    def __init__(self, kind: str, tensor: Any, cluster: Cluster | None) -> None:
        self.kind = kind
        self.tensor = tensor  # the minigrad Tensor drawn (None for a folded range)
        self.cluster = cluster
        self.is_root = False
        self.emphasis: str | None = None  # "bold" / "faded" with highlight=
        self.title = ""
        self.lines: list[str] = []
        self.tooltip = ""
        self.grad_norm: float | None = None
        self.term: float | None = None  # a per-step copy: that step's term of the gradient
        self.uses = 0  # a per-step copy: how many uses in its step
        # an op whose result has no name is drawn as one node that also shows the result
        self.shows_result = False
        # unnamed constant leaves used only here, drawn inside this op: {operand index: tensor}
        self.consts: dict[int, Any] = {}
        # operands that are a leaf's transpose, drawn inside this product: {operand index: leaf}
        self.transposed: dict[int, Any] = {}
        self.alias: str | None = None  # the name drawn when it is not the tensor's (z_3)
        self.params_inside: list = []  # the gate view: parameters written inside this node
        self.id = ""
        self.stored = False  # kept between forward and backward by a checkpoint (viz.segments)


class Edge:
    """An arrow in the forward direction; ``norm`` is the gradient that flowed back along it."""

    __slots__ = ("tail", "head", "norm", "emphasis", "style", "label", "backward", "origin")

    def __init__(
        self,
        tail: Node,
        head: Node,
        norm: float | None,
        style: str = "solid",
        origin: tuple[Any, int] | None = None,
    ) -> None:
        self.tail = tail
        self.head = head
        self.norm = norm
        # the engine's edge drawn: (op tensor, operand index), or (tensor, -1) for the gradient
        # of the tensor itself; the term view reads the term's own norms through it
        self.origin = origin
        self.emphasis: str | None = None
        self.style = style  # "solid", "cut" (detach mark) or "loop" (rolled recurrence)
        self.label = ""
        # against time and against the flow of the picture (h_{t-1} -> the first node of step
        # t, with the steps side by side): written head -> tail with the arrow reversed
        self.backward = False


class ViewGraph:
    """Nodes in a stable order (ids n0, n1, ...), edges, clusters and the picture's title."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.clusters: list[Cluster] = []
        self.title: list[str] = []
        self.root_title = ""
        self.grads = False  # draw gradients (and they were recorded)
        self.grads_missing = False  # grads=True asked, but nothing was recorded
        self.shared = "once"
        self.granularity = "op"  # "op", "formula" or "gate" (viz.formula)
        self.direction = "forward"  # or "backward": arrows the way the gradient flows
        self.term_title = ""  # the term view's: "term k=2 of dL_4/dW: ||term|| = ..."
        self.steps = 0
        self.folded: str | None = None
        # layout (viz.layout): per step in time order its last node, to keep the steps in
        # order, and its state, to line the steps up; the parameters drawn once before every
        # step; the running sum of the losses, in a row
        self.step_tails: list[Node] = []
        self.step_top: Node | None = None  # a first node of the first step, for the legends
        self.step_anchors: list[Node] = []
        self.shared_params: list[Node] = []
        self.summed_params: list[Node] = []  # shared="sum": the parameters with copies
        self.loss_row: list[Node] = []
