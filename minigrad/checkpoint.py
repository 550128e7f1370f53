"""Checkpointing: trade memory for time by recomputing a function's graph during backward.

``mg.checkpoint(fn, *inputs)`` runs ``fn`` once without recording and keeps only its inputs and
outputs. When backward reaches it, its VJP runs ``fn`` again with recording, on fresh leaves
holding the same input values, and a nested ``backward()`` through that recomputed graph turns
``g = dL/d outputs`` into ``dL/d inputs``. Chained over the segments of an unrolled RNN, only the
states between segments stay alive between forward and backward (Chen et al. 2016: O(sqrt T)
memory for one extra forward pass).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .modes import PER_THREAD, _switched, current, no_grad
from .ops import record_op
from .tensor import Tensor

OP_NAME = "checkpoint"  # viz draws a node of this op as a segment recomputed in backward
OUTPUT_OP = "checkpoint output"  # one output of a checkpoint, a view of the node's value


def checkpoint(fn: Callable[..., Any], *inputs: Any) -> Any:
    """``fn(*inputs)``, its graph not stored but recomputed in backward (first-order backward).

    ``fn`` returns a Tensor or a tuple of float Tensors of one dtype; the same structure comes
    back, each output a view of the checkpoint node. What must hold for ``fn``: it is
    deterministic (same inputs, same outputs; the recomputed outputs are compared with the first
    ones, and a difference raises), and it changes no tensor in place. Tensor inputs that require
    grad get their gradients through the node; tensors ``fn`` reads from its closure (a model's
    weights) get theirs from the nested backward, added straight into ``.grad``. The node is
    recorded only if a Tensor input requires grad, so pass the parameters as inputs when no
    other input needs a gradient. Example::

        h2 = mg.checkpoint(lambda h, W: (h @ W).tanh(), h1, W)
    """
    if not callable(fn):
        raise TypeError(f"checkpoint: fn must be callable, got {type(fn).__name__}")
    with no_grad():
        result = fn(*inputs)
    outputs, single = _as_outputs(result)
    layout, offset = [], 0
    for out in outputs:
        layout.append((offset, offset + out.data.size, out.shape, out.name))
        offset += out.data.size
    value = outputs[0].data if single else np.concatenate([o.data.ravel() for o in outputs])
    parents = tuple(x for x in inputs if isinstance(x, Tensor))
    saved = {"fn": fn, "inputs": inputs, "out": value, "layout": layout, "single": single,
             "scope": current().scope}
    node = record_op(OP_NAME, value, parents, checkpoint_vjp, saved)
    if single:
        node.name = outputs[0].name
        return node
    views = []
    for start, stop, shape, name in layout:  # each output a view of the node's flat value
        saved = {"start": start, "stop": stop, "size": value.size}
        view = record_op(OUTPUT_OP, value[start:stop].reshape(shape), (node,), output_vjp, saved)
        view.name = name
        views.append(view)
    return tuple(views)


def output_vjp(g: np.ndarray, start: int, stop: int, size: int) -> tuple:
    """The gradient of one output, placed at its entries of the checkpoint's flat value."""
    full = np.zeros(size, dtype=g.dtype)
    full[start:stop] = g.reshape(-1)
    return (full,)


def _as_outputs(result: Any) -> tuple[list[Tensor], bool]:
    single = isinstance(result, Tensor)
    outputs = [result] if single else list(result) if isinstance(result, (tuple, list)) else None
    if not outputs or not all(isinstance(o, Tensor) for o in outputs):
        raise TypeError(f"checkpoint: fn must return a Tensor or a non-empty tuple of Tensors, "
                        f"got {type(result).__name__}")
    dtypes = {o.data.dtype for o in outputs}
    if len(dtypes) != 1 or next(iter(dtypes)).kind != "f":
        raise TypeError(f"checkpoint: fn's outputs must be float tensors of one dtype, got "
                        f"{sorted(str(d) for d in dtypes)}")
    return outputs, single


def checkpoint_vjp(g: np.ndarray, fn: Callable[..., Any], inputs: tuple, out: np.ndarray,
                   layout: list, single: bool, scope: str) -> tuple:
    """Recompute ``fn`` with recording on fresh leaves, then backward ``sum_i <out_i, g_i>``."""
    if isinstance(g, Tensor):
        raise NotImplementedError(
            f"checkpoint{f' in scope {scope!r}' if scope else ''}: backward(create_graph=True), "
            f"mg.grad and mg.hvp differentiate on Tensors, which cannot go through a checkpoint; "
            f"use loss.backward(), or the plain graph (no checkpoint) for those"
        )
    leaves = [_fresh_leaf(x) if isinstance(x, Tensor) else x for x in inputs]
    with _switched("grad_enabled", True):  # a counted mode block: ops read this thread's modes
        modes = PER_THREAD.modes
        outer_scope, modes.scope = modes.scope, scope  # the recomputed nodes keep their scopes
        try:
            outputs, _ = _as_outputs(fn(*leaves))
        finally:
            modes.scope = outer_scope
        _check_recomputed(outputs, out, single, scope)
        root = None  # sum_i <out_i, g_i>: its gradient with respect to the leaves is dL/dinputs
        for o, (start, stop, shape, _) in zip(outputs, layout):
            if o.requires_grad:
                term = (o * Tensor(g.reshape(-1)[start:stop].reshape(shape))).sum()
                root = term if root is None else root + term
        if root is not None:
            root.backward()
    return tuple(leaf.grad if leaf.requires_grad else None
                 for leaf in leaves if isinstance(leaf, Tensor))


def _check_recomputed(outputs: list[Tensor], out: np.ndarray, single: bool, scope: str) -> None:
    recomputed = outputs[0].data if single else np.concatenate([o.data.ravel() for o in outputs])
    if recomputed.shape != out.shape or not np.array_equal(recomputed, out, equal_nan=True):
        where = f" in scope '{scope}'" if scope else ""
        raise RuntimeError(
            f"checkpoint{where}: recomputing fn in backward gave different outputs than the "
            f"forward pass. fn must be deterministic (no fresh random numbers) and its inputs "
            f"unchanged in place since the forward pass."
        )


def _fresh_leaf(x: Tensor) -> Tensor:
    """A leaf sharing ``x``'s values (no copy), requiring grad where ``x`` did."""
    leaf = Tensor(x.data, name=x.name)
    leaf.requires_grad = x.requires_grad
    return leaf
