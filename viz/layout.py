"""Where things go: the plan that makes an unrolled sequence read in time order.

Left alone, ``dot`` ranks the edge ``h_{t-1} -> step t`` like any other, so each step starts
where the previous one ends: a staircase as long as all the steps together, its steps in no
particular order across it. Instead the steps are drawn side by side, each laid out the same
way, in time order t = 1, 2, ..., T:

- an edge against time (from one step into a later one, from the running sum of the losses
  into the box of folded steps, the loop of the rolled view) must not rank the step it enters.
  Where it climbs back against the flow (``h_{t-1}`` lies below the first node of step t) it is
  marked ``backward``: written head to tail with its arrow reversed, it is ranked and routed
  like any other edge (dot's ``constraint=false`` instead sends such edges round the picture);
- each step's state (``h_t``, the first node that feeds a later step), with the box of folded
  steps in its place, goes on one rank, so the steps line up; each step's last node and state
  hold an invisible ruler after the steps in time order (``viz.dot``);
- parameters drawn once, used by several steps, go in a row before every step, so their edges
  into each step are all in view; so do the sums ``dL/dW = sum_k dL/dW_k`` of the per-step
  copies, each edge from a copy drawn up into its sum; legends go above the first step;
- the running sum of the step losses after the steps (``L_1 + L_2 -> + L_3 -> ... -> L``) is
  one row, with ``L`` at its end.

All of it is a description (nodes, rows, edge marks); ``viz.dot`` writes it as DOT."""

from __future__ import annotations

from .fold import counterparts
from .graph import COPY, CUT, FOLD, INPUT, PARAM, Edge, Node, ViewGraph

BOX = "folded"  # the step a box of folded steps stands for


def arrange(view: ViewGraph) -> None:
    """Fill ``view.step_anchors``, ``step_tails``, ``step_top``, ``shared_params`` and
    ``loss_row``, and mark the edges to draw reversed (``Edge.backward``)."""
    step_of: dict[int, object] = {
        id(n): BOX if n.kind == FOLD else (n.cluster.step_of() if n.cluster else None)
        for n in view.nodes
    }
    steps = sorted({s for s in step_of.values() if isinstance(s, int)})
    if not steps:
        return
    after = _after_steps(view, step_of)
    against = [e for e in view.edges if _against_time(e, step_of, after)]
    view.step_anchors = _anchors(view, step_of, steps, against)
    view.step_tails = _tails(view, step_of, steps)
    fed = {id(e.head) for e in view.edges}
    view.step_top = next(
        (n for n in view.nodes if step_of[id(n)] == steps[0] and id(n) not in fed), None
    )
    if view.shared == "once":
        view.shared_params = _shared_params(view, step_of)
    elif view.shared == "sum":
        view.shared_params = list(view.summed_params)
    view.loss_row = _loss_row(view, after)
    rank = _ranks(view, against)
    for edge in against:
        edge.backward = rank.get(id(edge.head), 0) < rank.get(id(edge.tail), 0)
        # a copy's gradient into its parameter's sum, the parameter drawn above the steps
        edge.backward = edge.backward or edge.style == "sum"


def _against_time(edge: Edge, step_of: dict, after: set[int]) -> bool:
    tail, head = step_of[id(edge.tail)], step_of[id(edge.head)]
    if edge.style in ("loop", "sum"):
        return True
    return head is not None and tail != head and (tail is not None or id(edge.tail) in after)


def _after_steps(view: ViewGraph, step_of: dict) -> set[int]:
    """The nodes outside every step that are computed from the steps (the loss side)."""
    outputs: dict[int, list[Node]] = {}
    for edge in view.edges:
        outputs.setdefault(id(edge.tail), []).append(edge.head)
    todo = [n for n in view.nodes if step_of[id(n)] is not None]
    after: set[int] = set()
    while todo:
        for head in outputs.get(id(todo.pop()), []):
            if step_of[id(head)] is None and head.kind not in (PARAM, INPUT, CUT):
                if id(head) not in after:
                    after.add(id(head))
                    todo.append(head)
    return after


def _anchors(view: ViewGraph, step_of: dict, steps: list[int], against: list[Edge]) -> list:
    """Per step, the first of its nodes that feeds a later step (its state); a step feeding
    none (the last) takes the node playing the same part as the previous step's anchor."""
    position = {id(n): i for i, n in enumerate(view.nodes)}
    anchor: dict[object, Node] = {}
    for node in view.nodes:
        if node.kind == FOLD:
            anchor[BOX] = node
    for edge in against:
        tail, head = step_of[id(edge.tail)], step_of[id(edge.head)]
        if isinstance(tail, int) and (head == BOX or (isinstance(head, int) and head > tail)):
            found = anchor.get(tail)
            if found is None or position[id(edge.tail)] < position[id(found)]:
                anchor[tail] = edge.tail
    for previous, step in zip(steps, steps[1:]):
        if step not in anchor and previous in anchor:
            match = counterparts(view, step_of, previous, step).get(id(anchor[previous]))
            if match is not None:
                anchor[step] = match
    row = [anchor[s] for s in _with_box(view, steps, step_of) if s in anchor]
    return row if len(row) > 1 else []


def _with_box(view: ViewGraph, steps: list[int], step_of: dict) -> list:
    """The steps in time order with the box of folded steps in its place (after the steps
    that feed it)."""
    boxes = [n for n in view.nodes if n.kind == FOLD]
    if not boxes:
        return list(steps)
    feeding = [step_of[id(e.tail)] for e in view.edges if e.head is boxes[0]]
    before = max((s for s in feeding if isinstance(s, int)), default=steps[0])
    return [s for s in steps if s <= before] + [BOX] + [s for s in steps if s > before]


def _tails(view: ViewGraph, step_of: dict, steps: list[int]) -> list[Node]:
    """Per step its last node (not a parameter copy: those come first in the picture), the
    box of folded steps in its place."""
    last: dict[object, Node] = {}
    for node in view.nodes:
        step = step_of[id(node)]
        if step is not None and node.kind != COPY:
            last[step] = node
    tails = [last[s] for s in _with_box(view, steps, step_of) if s in last]
    return tails if len(tails) > 1 else []


def _shared_params(view: ViewGraph, step_of: dict) -> list[Node]:
    into: dict[int, set] = {}
    for edge in view.edges:
        head = step_of[id(edge.head)]
        if edge.tail.kind == PARAM and head is not None:
            into.setdefault(id(edge.tail), set()).add(head)
    return [n for n in view.nodes if n.kind == PARAM and len(into.get(id(n), ())) > 1]


def _loss_row(view: ViewGraph, after: set[int]) -> list[Node]:
    """The loss side, when it is one chain (a running sum): one row."""
    inside_in: dict[int, int] = {}
    inside_out: dict[int, int] = {}
    for edge in view.edges:
        if id(edge.tail) in after and id(edge.head) in after:
            inside_out[id(edge.tail)] = inside_out.get(id(edge.tail), 0) + 1
            inside_in[id(edge.head)] = inside_in.get(id(edge.head), 0) + 1
    row = [n for n in view.nodes if id(n) in after]
    if any(inside_in.get(id(n), 0) > 1 or inside_out.get(id(n), 0) > 1 for n in row):
        return []
    return row if len(row) > 1 else []


def _ranks(view: ViewGraph, against: list[Edge]) -> dict[int, int]:
    """Each node's rank as dot would first place it: the longest path to it over the edges
    that follow the flow; the states (and the box of folded steps) share the latest one."""
    skip = {id(e) for e in against}
    inputs: dict[int, list[Node]] = {}
    outputs: dict[int, list[Node]] = {}
    for edge in view.edges:
        if id(edge) not in skip:
            inputs.setdefault(id(edge.head), []).append(edge.tail)
            outputs.setdefault(id(edge.tail), []).append(edge.head)
    rank: dict[int, int] = {}
    waiting = {id(n): len(inputs.get(id(n), ())) for n in view.nodes}
    todo = [n for n in view.nodes if waiting[id(n)] == 0]
    while todo:
        node = todo.pop()
        rank[id(node)] = max((rank[id(p)] + 1 for p in inputs.get(id(node), ())), default=0)
        for head in outputs.get(id(node), ()):
            waiting[id(head)] -= 1
            if waiting[id(head)] == 0:
                todo.append(head)
    level = max((rank.get(id(a), 0) for a in view.step_anchors), default=0)
    for node in view.step_anchors:
        rank[id(node)] = level
    return rank
