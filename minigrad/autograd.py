"""Reverse mode: one walk over the graph, then one loop that applies each node's VJP.

For ``L = loss`` and a node ``y = op(x1, ..., xn)`` the loop receives ``g = dL/dy`` (complete, since
every consumer of ``y`` comes later in topological order and was processed first) and sends
``dL/dxi = vjp(g)[i]`` to each parent. A tensor used in several places gets the sum of what each
use sends: ``dL/dx = sum over uses u of dL/dy_u dy_u/dx`` -- which, for ``W`` reused at every time
step of an unrolled RNN, is backprop through time.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from operator import attrgetter
from typing import Any

import numpy as np

from .tensor import STATE, Tensor, check_finite

RELEASED_HELP = (
    "the graph behind this tensor was already released by an earlier backward(), which frees "
    "links and saved arrays. Call backward(retain_graph=True) the first time if you need to go "
    "through the graph again (or to draw it after backward)."
)


def topological_order(root: Tensor, requires_grad_only: bool = False) -> list[Tensor]:
    """Every node behind ``root`` once, each after all of its parents, ``root`` last.

    Collects the nodes reachable from ``root`` with an explicit stack (no recursion, so a chain of
    100,000 ops is fine), then sorts them by creation number: a tensor is always made after the
    tensors it is computed from, so that order puts parents first. With ``requires_grad_only``
    the walk skips parents that no gradient flows into.
    """
    seen = {root: None}  # an insertion-ordered set; tensors hash by identity
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in seen and (parent.requires_grad or not requires_grad_only):
                seen[parent] = None
                stack.append(parent)
    return sorted(seen, key=_creation_number)


_creation_number = attrgetter("_seq")


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo numpy broadcasting: sum ``grad`` down to ``shape``.

    Broadcasting copies an input along new leading axes and along axes of size 1; the derivative
    of a copy is the sum of the copies' gradients. The one place every op's broadcast is undone.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = np.add.reduce(grad, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = np.add.reduce(grad, axis=axes, keepdims=True)
    return grad


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a stretch of graph work.

    The graph holds no reference cycles (VJPs are plain functions with saved arrays), so
    reference counting frees it; the cyclic collector would only walk every live node again and
    again, making long unrolled graphs cost more than linear time. Paused, nothing is lost:
    cycles made meanwhile elsewhere are collected once it runs again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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


def backward(
    root: Tensor, grad: Any = None, retain_graph: bool = False, record: bool = False
) -> None:
    """Accumulate ``d root / d leaf`` into ``leaf.grad`` for every leaf that requires grad.

    ``grad`` is ``dL/d root`` (default 1 for a scalar). Without ``retain_graph`` each node's links
    and saved arrays are released once used. With ``record`` each node stores ``grad_norm`` (the
    norm of its gradient), ``edge_grad_norms`` (the norm sent to each parent), ``backward_step``
    (1, 2, ... in the order this pass processed the nodes), ``grad_values`` (the gradient's
    entries as floats, for a node of at most 4 entries) and ``edge_running_norms`` (the norm of
    each parent's gradient summed so far, right after this node's contribution was added), for viz.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad: nothing it was computed from has "
            "requires_grad=True (or it was computed under no_grad()). Create the parameters "
            "with Tensor(..., requires_grad=True)."
        )
    if root.released:
        raise RuntimeError("backward: " + RELEASED_HELP)
    with cycle_collector_paused():
        _run_backward(root, _initial_grad(root, grad), retain_graph, record)


def _refcounts_of_a_private_array() -> tuple[int, int]:
    """``sys.getrefcount`` of an array that only a local name holds, and of one held by a local
    name and one dict entry, as this interpreter counts them (measured, not assumed).

    If one more reference does not show as exactly one more count (a tracer or debugger holding
    frames, an interpreter that counts otherwise), returns (-1, -1): nothing is ever done in place.
    """
    alone = np.empty(1)
    in_dict = {0: np.empty(1)}
    held = in_dict.get(0)
    counts = sys.getrefcount(alone), sys.getrefcount(held)
    alias = alone  # noqa: F841  (one more reference, to check the counting)
    if counts[1] != counts[0] + 1 or sys.getrefcount(alone) != counts[0] + 1:
        return -1, -1
    return counts


# An array of our own that nothing else refers to can be added into, or kept, without a copy.
# A view (``base`` set) or an array seen anywhere else (the user's, or one sent to two parents)
# has more references, and is copied instead.
LOCAL_ONLY, LOCAL_AND_DICT = _refcounts_of_a_private_array()


def _run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool, record: bool) -> None:
    grads: dict[Tensor, np.ndarray] = {root: grad}
    anomaly = STATE.anomaly
    processed = 0
    for node in reversed(topological_order(root, requires_grad_only=True)):
        g = grads.pop(node, None)
        if g is None:
            continue
        if node._hooks:
            for hook in node._hooks:
                replaced = hook(g)
                if replaced is not None:
                    g = np.asarray(replaced, dtype=node.data.dtype)
        if record:
            processed += 1
            _record_node(node, g, processed)
        vjp = node.vjp
        if vjp is None:
            if node.op is not None:
                raise RuntimeError(f"backward: reached '{node.op}' node: " + RELEASED_HELP)
            # a leaf: accumulate, as PyTorch does, until zero_grad()
            if node.grad is not None:
                node.grad += g
            elif (type(g) is np.ndarray and g.base is None and g.dtype == node.data.dtype
                  and sys.getrefcount(g) == LOCAL_ONLY):
                node.grad = g  # ours alone: kept without a copy
            else:
                node.grad = np.array(g, dtype=node.data.dtype)
            continue
        if node._retains_grad:
            _accumulate(node, g)
        edge_norms: list[float | None] | None = [] if record else None
        running: list[float | None] | None = [] if record else None
        for parent, pg in zip(node.parents, vjp(g, *node.saved)):
            if pg is None or not parent.requires_grad:
                if record:
                    edge_norms.append(None)
                    running.append(None)
                continue
            if pg.shape != parent.data.shape:
                pg = unbroadcast(pg, parent.data.shape)
            if record:
                edge_norms.append(float(np.linalg.norm(pg)))
            if anomaly:
                check_finite(pg, node, "gradient it sends back")
            previous = grads.get(parent)
            if previous is None:
                grads[parent] = pg
            elif (type(previous) is np.ndarray and previous.base is None
                  and sys.getrefcount(previous) == LOCAL_AND_DICT):
                previous += pg  # ours alone: add in place
            else:
                grads[parent] = previous + pg
            if record:
                running.append(float(np.linalg.norm(grads[parent])))
        if record:
            node.edge_grad_norms = tuple(edge_norms)
            node.edge_running_norms = tuple(running)
        if not retain_graph:  # release: a released node keeps its op but loses vjp and links
            node.parents = ()
            node.vjp = None
            node.saved = ()


def _record_node(node: Tensor, g: np.ndarray, processed: int) -> None:
    node.grad_norm = float(np.linalg.norm(g))
    node.backward_step = processed
    node.grad_values = tuple(float(v) for v in g.ravel()) if g.size <= 4 else None


def _accumulate(node: Tensor, g: np.ndarray) -> None:
    if node.grad is None:
        node.grad = np.array(g, dtype=node.data.dtype)  # a copy we own
    else:
        node.grad += g
