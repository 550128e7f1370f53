"""The backward pass as frames, read from the engine's own recording.

``loss.backward(retain_graph=True, record=True)`` numbers the nodes in the order it processed
them (``backward_step``) and stores the norm of each node's gradient (``grad_norm``), of what it
sent to each parent (``edge_grad_norms``) and of each parent's gradient summed so far
(``edge_running_norms``). Frame k is the node with ``backward_step == k``; nothing here is
recomputed, only looked up and placed on a drawing:

- a tensor drawn as a node of its own (a named tensor's box, an op's oval, a parameter) is shown
  there; a named result's box and its op's oval both show its gradient;
- a tensor without a node of its own (inside the box of folded steps, in a step the rolled view
  leaves out, or merged by the drawing in any other way) is shown on the drawn node that
  contains it: the box of folded steps, its counterpart in the drawn step (rolled view), else
  the drawn node of its nearest consumer (where its gradient came from);
- a per-step parameter copy shows the term its one use sent (empty when it has several uses in
  its step: the recording holds no norm of their partial sums).

Every drawn node's value after frame k is the gradient norm accumulated so far by the last of
its tensors that changed: the complete norm once processed, the running sum before; in the
frame that processes a tensor, its nodes show its gradient.
"""

from __future__ import annotations

import re
from typing import Any

import minigrad as mg

from . import fold as folding
from .graph import COPY, CUT, DATA, FOLD, Node, ViewGraph

RECORD_HINT = "loss.backward(retain_graph=True, record=True)"


def recorded_order(root: Any) -> list:
    """The tensors ``backward()`` processed, in its order; an error if it was not recorded."""
    if not isinstance(root, mg.Tensor):
        raise TypeError(f"viz.html: expected a minigrad Tensor, got {type(root).__name__}")
    if root.backward_step is None:
        raise ValueError(
            "viz.html: no backward pass recorded on this graph: call "
            f"{RECORD_HINT} first, then write the page"
        )
    done = [t for t in mg.topological_order(root) if t.backward_step is not None]
    done.sort(key=lambda t: t.backward_step)
    numbers = [t.backward_step for t in done]
    if root.backward_step != 1 or numbers != list(range(1, len(done) + 1)):
        raise ValueError(
            "viz.html: the recorded backward steps of this graph do not form one pass from "
            f"this root (root step {root.backward_step}, {len(done)} nodes numbered "
            f"{numbers[:3]}...): some nodes keep numbers from another backward pass. Call "
            f"{RECORD_HINT} on this root again, then write the page"
        )
    return done


def own_nodes(view: ViewGraph) -> dict[int, list[Node]]:
    """For each tensor with a node of its own, the drawn nodes that show its gradient."""
    own: dict[int, list[Node]] = {}
    for node in view.nodes:
        if node.tensor is not None and node.kind not in (COPY, CUT, FOLD):
            own.setdefault(id(node.tensor), []).append(node)
    return own


def main_node(nodes: list[Node]) -> Node:
    """The node a frame highlights: a named tensor's box before its op's oval (and before a
    node that draws it under another name, like ``z_3`` for ``yhat_3``)."""
    boxes = [n for n in nodes if n.kind == DATA]
    plain = [n for n in boxes if getattr(n, "alias", None) is None]
    return (plain or boxes or nodes)[0]


def places(view: ViewGraph, full: ViewGraph | None, done: list) -> dict[int, list[Node]]:
    """For each processed tensor, the drawn nodes of ``view`` that show it (see the module)."""
    own = own_nodes(view)
    found: dict[int, list[Node]] = {}
    box = next((n for n in view.nodes if n.kind == FOLD), None)
    in_box, stand_in = _folded_away(view, full) if full is not None else (set(), {})
    users: dict[int, list] = {}
    for tensor in done:
        for parent in tensor.parents:
            users.setdefault(id(parent), []).append(tensor)
    for tensor in done:
        key = id(tensor)
        if key in own:
            found[key] = own[key]
        elif key in in_box and box is not None:
            found[key] = [box]
        elif key in stand_in and stand_in[key] in own:
            found[key] = own[stand_in[key]]
        else:
            # backward reached its consumers before it: the first of them is placed already
            first = min(users.get(key, []), key=lambda t: t.backward_step, default=None)
            found[key] = found[id(first)] if first is not None else [view.nodes[-1]]
    return found


def _folded_away(view: ViewGraph, full: ViewGraph) -> tuple[set[int], dict[int, int]]:
    """Tensors of the unfolded ``full`` view that ``view`` folds into its box, and for the rolled
    view each left-out tensor's counterpart (by tensor id) in the drawn step."""
    drawn_steps = {c.step for c in view.clusters if c.step is not None}
    step_of = folding._step_of_nodes(full)  # fold's own rule: a node's step, or its inputs'
    steps = sorted({s for s in step_of.values() if s is not None})
    gone = {s for s in steps if s not in drawn_steps}
    if not gone:
        return set(), {}
    left_out = [n.tensor for n in full.nodes if n.tensor is not None and step_of[id(n)] in gone]
    if any(n.kind == FOLD for n in view.nodes):
        return {id(t) for t in left_out}, {}
    last = max(drawn_steps, default=None)
    drawn = {}
    for node in full.nodes:
        if node.tensor is not None and step_of[id(node)] == last:
            drawn.setdefault(_signature(node.tensor), id(node.tensor))
    stand_in = {id(t): drawn[_signature(t)] for t in left_out if _signature(t) in drawn}
    return set(), stand_in


def _signature(tensor: Any, depth: int = 3) -> tuple:
    """What a tensor is, step numbers left out: its op, shape and name (``h_#``), and so for
    its inputs, a few levels deep (``W h_4`` and ``V x_4`` are both matmuls of one shape)."""
    name = re.sub(r"\d+", "#", tensor.name or "")
    inputs = tuple(_signature(p, depth - 1) for p in tensor.parents) if depth else ()
    return tensor.op, tensor.shape, name, inputs


def node_events(view: ViewGraph, where: dict[int, list[Node]], done: list) -> list[list]:
    """Per frame k (index k - 1): ``[node id, value before, value after]`` for each drawn node
    whose ``data-grad-norm`` changes, values as exact float text (``repr``) or ""."""
    copies = {(id(n.tensor), id(n.cluster)): n for n in view.nodes if n.kind == COPY}
    value: dict[str, str] = {}
    frames: list[list] = []
    for tensor in done:
        changes: dict[str, str] = {}
        running = tensor.edge_running_norms or ()
        sent = tensor.edge_grad_norms or ()
        clusters = {id(n.cluster) for n in where[id(tensor)]}  # where this use is drawn
        for parent, total, part in zip(tensor.parents, running, sent):
            if total is None or id(parent) not in where:
                continue
            for node in where[id(parent)]:
                changes[node.id] = repr(total)
            for cluster in clusters:
                copy = copies.get((id(parent), cluster))
                if copy is not None and copy.uses == 1:
                    changes[copy.id] = repr(part)
        # last, so that a node showing both this tensor and a parent drawn inside it (a formula's
        # node) shows the gradient of the tensor this frame processes
        for node in where[id(tensor)]:
            changes[node.id] = repr(tensor.grad_norm)
        events = []
        for node_id, after in changes.items():
            before = value.get(node_id, "")
            if before != after:
                events.append([node_id, before, after])
                value[node_id] = after
        frames.append(events)
    return frames


def edge_events(view: ViewGraph, where: dict[int, list[Node]], done: list) -> dict[int, list]:
    """For each view edge (by ``id``) that gradient flows back along: [frame, norm sent].

    An edge from a parameter's copy in a step lights when a use in that step sends the
    parameter gradient (that step's term); an edge from a tensor P into a drawn node lights in
    the first frame that sends P gradient from a tensor shown on that node (an op drawn inside
    a formula's node, a use inside the box of folded steps), with the norm sent then; an edge
    between two nodes of one tensor (a named result's op and box) in that tensor's frame; any
    other edge (the rolled view's loop) in its head's frame, with the norm the drawing gives.
    """
    step = {id(t): t.backward_step for t in done}
    sends: dict[tuple[int, int], tuple[int, float]] = {}  # (parent, drawn node) -> first send
    into_step: dict[tuple[int, int], tuple[int, float]] = {}  # (parent, cluster) -> first send
    for tensor in done:
        for parent, norm in zip(tensor.parents, tensor.edge_grad_norms or ()):
            if norm is None:
                continue
            for node in where[id(tensor)]:  # frames come in order: the first send stays
                sends.setdefault((id(parent), id(node)), (tensor.backward_step, norm))
                into_step.setdefault((id(parent), id(node.cluster)), (tensor.backward_step, norm))
    found: dict[int, list] = {}
    for edge in view.edges:
        head, tail = edge.head, edge.tail
        if edge.style == "cut" or tail.tensor is None and head.tensor is None:
            continue
        if tail.kind == COPY:  # a parameter's copy in a step: its edges carry that step's term
            first = into_step.get((id(tail.tensor), id(tail.cluster)))
            if first is not None:
                found[id(edge)] = list(first)
        elif tail.tensor is not None and tail.tensor is head.tensor:
            if id(head.tensor) in step:
                found[id(edge)] = [step[id(head.tensor)], head.tensor.grad_norm]
        elif tail.tensor is not None and (id(tail.tensor), id(head)) in sends:
            found[id(edge)] = list(sends[id(tail.tensor), id(head)])
        elif head.tensor is not None and id(head.tensor) in step and edge.norm is not None:
            found[id(edge)] = [step[id(head.tensor)], edge.norm]
    return found
