"""Reverse mode: one walk over the graph, then one loop that applies each node's VJP.

For ``L = loss`` and a node ``y = op(x1, ..., xn)`` the loop receives ``g = dL/dy`` (complete, since
every consumer of ``y`` comes later in topological order and was processed first) and sends
``dL/dxi = vjp(g)[i]`` to each parent. A tensor used in several places gets the sum of what each
use sends: ``dL/dx = sum over uses u of dL/dy_u dy_u/dx`` -- which, for ``W`` reused at every time
step of an unrolled RNN, is backprop through time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import higher
from .graph import HOOKED, check_unchanged, release, topological_order, unbroadcast
from .modes import PER_THREAD, check_finite, describe
from .tensor import Tensor


def reference_backward(root: Tensor) -> None:
    """The chain rule and nothing else: what ``backward()`` computes, written to be read.

    Visits the nodes from ``root`` back to the leaves; a node's gradient ``g = dL/dnode`` is
    complete when it is visited, because every node that used it came later in the forward pass.
    Its VJP turns ``g`` into ``dL/dparent`` for each parent, and a parent used twice gets the
    sum of both. ``backward()`` gives the same gradients, with hooks, recording and speed.
    """
    grads = {root: np.ones_like(root.data)}  # dL/dL = 1
    for node in reversed(topological_order(root)):
        g = grads.pop(node, None)
        if g is None or not node.requires_grad:
            continue
        if node.is_leaf:  # a parameter: its gradient is complete
            node.grad = g if node.grad is None else node.grad + g
            continue
        for parent, g_parent in zip(node.parents, node.vjp(g, **node.saved)):
            if g_parent is not None and parent.requires_grad:
                g_parent = unbroadcast(g_parent, parent.shape)  # undo numpy broadcasting
                grads[parent] = grads[parent] + g_parent if parent in grads else g_parent


RELEASED_HELP = (
    "the graph behind this tensor was already released by an earlier backward(), which frees "
    "links and saved arrays. Call backward(retain_graph=True) the first time if you need to go "
    "through the graph again (or to draw it after backward)."
)


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False,
             record: bool = False, create_graph: bool = False) -> None:
    """Add ``d root / d leaf`` into ``leaf.grad`` for every leaf that requires grad.

    ``grad`` is ``dL/d root`` (default 1 for a scalar). Without ``retain_graph`` the graph's
    links and saved arrays are released afterwards. With ``record`` each node stores, for viz:
    ``grad_norm``, ``backward_step`` (1, 2, ... in processing order), ``grad_values`` (for at
    most 4 entries), ``edge_grad_norms`` (the norm sent to each parent) and
    ``edge_running_norms`` (each parent's gradient so far, right after this node added to it).
    Every ``.grad`` is stored only once the whole pass succeeded. A changed input is refused
    before anything is released; while any tensor has a hook (or in anomaly mode) the graph is
    released only at the end, so a hook that raises leaves it whole for a retry. ``create_graph``:
    see ``minigrad.higher.backward_create_graph``.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad: nothing it was computed from has "
            "requires_grad=True (or it was computed under no_grad()). Create the parameters "
            "with Tensor(..., requires_grad=True)."
        )
    if root.released:
        raise RuntimeError("backward: " + RELEASED_HELP)
    if create_graph:  # gradients as Tensors with graphs: a separate, simple loop
        return higher.backward_create_graph(root, grad, record)
    order = topological_order(root, requires_grad_only=True)
    # (the cyclic collector already waits: the graph's nodes hold its GraphPause)
    if Tensor.last_change > order[0]._seq:  # an in-place change since the oldest node was made
        check_unchanged(order, Tensor.last_change)  # refused before anything is released
    # A pass that could fail midway (a hook, anomaly mode) releases the graph only at its end.
    keep_until_done = not retain_graph and bool(PER_THREAD.modes.anomaly or HOOKED)
    finished = _run_backward(order, root, _initial_grad(root, grad), record,
                             release_each=not (retain_graph or keep_until_done))
    for node, g, owned in finished:  # stored only once the whole pass succeeded
        _store_grad(node, g, owned)
    if keep_until_done:
        for node in order:
            release(node)


def _run_backward(order: list[Tensor], root: Tensor, grad: np.ndarray, record: bool,
                  release_each: bool) -> list[tuple[Tensor, np.ndarray, bool]]:
    grads: dict[Tensor, np.ndarray] = {root: grad}
    owned: set[Tensor] = set()  # gradients this pass allocated: safe to add into in place
    finished = []  # (tensor, gradient, owned) for leaves and tensors that retain their grad
    anomaly, processed = PER_THREAD.modes.anomaly, 0
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:
            continue
        if node._hooks:
            g = _run_hooks(node, g, owned)
        if record:
            processed += 1
            _record_node(node, g, processed)
        if node.vjp is None:
            if node.op is not None:
                raise RuntimeError(f"backward: reached '{node.op}' node: " + RELEASED_HELP)
            finished.append((node, g, node in owned))
            continue
        if node._retains_grad:
            finished.append((node, g, False))
        edges = [] if record else None
        parents, grads_out = node.parents, node.vjp(g, **node.saved)
        if release_each:  # NOTE: now, not after the pass: the gradients reuse what this frees
            release(node)
        for parent, g_parent in zip(parents, grads_out):
            if g_parent is None or not parent.requires_grad:
                if record:
                    edges.append((None, None))
                continue
            if g_parent.shape != parent.data.shape:
                g_parent = unbroadcast(g_parent, parent.data.shape)
            if anomaly:
                check_finite(g_parent, node, "gradient it sends back")
            previous = grads.get(parent)  # add g_parent into the parent's gradient:
            if previous is None:
                grads[parent] = g_parent  # kept as it is: it may be shared (add sends g twice)
            elif parent in owned:
                previous += g_parent  # NOTE: in place into our own sum: one array per tensor
            else:
                grads[parent] = previous = previous + g_parent
                if type(previous) is np.ndarray:  # 0-d sums are numpy scalars: immutable
                    owned.add(parent)
            if record:
                edges.append((_norm(g_parent), _norm(grads[parent])))
        if record:
            node.edge_grad_norms = tuple(sent for sent, _ in edges)
            node.edge_running_norms = tuple(so_far for _, so_far in edges)
    return finished


def _initial_grad(root: Tensor, grad: Any) -> np.ndarray:
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: a gradient can be implied only for a scalar, but this tensor has "
                f"shape {root.shape}. Reduce it first (loss.sum() or loss.mean()), or pass "
                f"grad= an array of shape {root.shape}."
            )
        return np.ones_like(root.data)
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ValueError(
            f"backward: grad has shape {grad.shape} but the tensor has shape {root.shape}"
        )
    return grad


def _run_hooks(node: Tensor, g: np.ndarray, owned: set) -> np.ndarray:
    for hook in node._hooks:
        replaced = hook(g)
        if replaced is not None:
            replaced = np.asarray(replaced, dtype=node.data.dtype)
            if replaced.shape != np.shape(g):
                raise ValueError(
                    f"register_hook: a hook on {describe(node)} returned shape {replaced.shape}, "
                    f"but the gradient it replaces has shape {np.shape(g)}"
                )
            g = replaced
            owned.discard(node)  # the hook's array may be kept by the hook
    return g


def _store_grad(node: Tensor, g: np.ndarray, owned: bool) -> None:
    """Add into ``.grad`` (accumulating, as PyTorch does, until zero_grad()); keep the array
    itself only when this pass allocated it, otherwise store a copy."""
    if node.grad is not None:
        node.grad += g
    elif owned and g.dtype == node.data.dtype:
        node.grad = g
    else:
        node.grad = np.array(g, dtype=node.data.dtype)


def _norm(a: np.ndarray) -> float:
    return float(np.linalg.norm(a))


def _record_node(node: Tensor, g: np.ndarray, processed: int) -> None:
    node.grad_norm = _norm(g)
    node.backward_step = processed
    node.grad_values = tuple(float(v) for v in np.ravel(g)) if np.size(g) <= 4 else None
