"""Reverse mode: one loop that applies each node's VJP, newest node first.

For ``L = loss`` and a node ``y = op(x1, ..., xn)`` the loop receives ``g = dL/dy`` (complete, since
every consumer of ``y`` was made after it, so was processed first) and sends
``dL/dxi = vjp(g)[i]`` to each parent. A tensor used in several places gets the sum of what each
use sends: ``dL/dx = sum over uses u of dL/dy_u dy_u/dx`` -- which, for ``W`` reused at every time
step of an unrolled RNN, is backprop through time.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

import numpy as np

from . import higher
from .graph import HOOKED, check_saved_unchanged, release, topological_order, unbroadcast
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

    ``grad`` is ``dL/d root`` (default 1 for a scalar). Without ``retain_graph`` each node loses
    its links and saved arrays as soon as its VJP ran. With ``record`` each node stores, for viz:
    ``grad_norm``, ``backward_step`` (1, 2, ... in processing order), ``grad_values`` (at most 4
    entries), ``edge_grad_norms`` (sent to each parent) and ``edge_running_norms`` (each
    parent's gradient so far, right after this node added to it).
    Every ``.grad`` is stored only once the whole pass succeeded. While any tensor has a hook (or
    in anomaly mode) the graph is released only at the end, so a hook that raises leaves it whole
    for a retry. ``create_graph``: see ``minigrad.higher.backward_create_graph``.
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
    # (the cyclic collector already waits: the graph's nodes hold its GraphPause)
    # A pass that could fail midway (a hook, anomaly mode) releases the graph only at its end.
    kept = [] if not retain_graph and (PER_THREAD.modes.anomaly or HOOKED) else None
    finished = _run_backward(root, _initial_grad(root, grad), record,
                             release_each=not retain_graph and kept is None, kept=kept)
    for node, g, owned in finished:  # stored only once the whole pass succeeded
        _store_grad(node, g, owned)
    for node in kept or ():
        release(node)


def _run_backward(root: Tensor, grad: np.ndarray, record: bool, release_each: bool,
                  kept: list[Tensor] | None) -> list[tuple[Tensor, np.ndarray, bool]]:
    # Each node that got gradient and has not passed it on: [node, dL/dnode so far, owned], by
    # creation number. ``owned``: this pass allocated that array, so adding into it in place is
    # safe (the first gradient a node gets may be shared: add sends the same g to both parents).
    waiting = {root._seq: [root, grad, False]}
    # NOTE: the newest waiting node goes next, from a heap: a node comes after every node that
    # used it (each was made later), and no walk over the whole graph has to come first.
    newest_first = [-root._seq]
    finished = []  # (tensor, gradient, owned) for leaves and tensors that retain their grad
    anomaly, last_change, processed = PER_THREAD.modes.anomaly, Tensor.last_change, 0
    while newest_first:
        node, g, owned = waiting.pop(-heappop(newest_first))
        if kept is not None:
            kept.append(node)
        if node._hooks:
            g, owned = _run_hooks(node, g), False  # the hook's array may be kept by the hook
        if record:
            processed += 1
            _record_node(node, g, processed)
        if node.vjp is None:
            if node.op is not None:
                raise RuntimeError(f"backward: reached '{node.op}' node: " + RELEASED_HELP)
            finished.append((node, g, owned))
            continue
        if node._retains_grad:
            finished.append((node, g, False))
        if node._seq < last_change:  # something changed in place after this node was made
            check_saved_unchanged(node)
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
            entry = waiting.get(parent._seq)  # add g_parent into the parent's gradient:
            if entry is None:  # the first: kept as it is
                waiting[parent._seq] = entry = [parent, g_parent, False]
                heappush(newest_first, -parent._seq)
            elif entry[2]:
                entry[1] += g_parent  # NOTE: in place into our own sum: one array per tensor
            else:  # the second: a new array, which later ones add into
                entry[1] = entry[1] + g_parent
                entry[2] = type(entry[1]) is np.ndarray  # 0-d sums are numpy scalars
            if record:
                edges.append((_norm(g_parent), _norm(entry[1])))
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


def _run_hooks(node: Tensor, g: np.ndarray) -> np.ndarray:
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
    node.grad_norm, node.backward_step = _norm(g), processed
    node.grad_values = tuple(float(v) for v in np.ravel(g)) if np.size(g) <= 4 else None
