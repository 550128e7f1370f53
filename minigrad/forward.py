"""Forward mode: Jacobian-vector products, derived from the VJPs by double backward.

``J t`` is the derivative in ``u`` of ``<J^T u, t>``: run the VJPs with ``u`` as a Tensor (the
gradient with a graph, ``create_graph``), take the dot with the tangent, and backpropagate to
``u``. Because a VJP is linear in ``u``, this is exact for any ``u`` (zeros here). So each op's
derivative stays written once, as its VJP, and forward mode works for every op, including the
ones a user defines with ``mg.record_op``.

Why not native forward rules beside each op: they would be a second derivative definition per op
(about sixty), the thing this engine promises not to have. The price, honestly: per tangent, one
forward pass, one backward pass that records a graph, and one backward pass through that graph.
That is a constant multiple of the forward pass, never a Jacobian, but not "one extra forward
pass": benchmarks/bptt_vs_rtrl.py measures 8 to 9 forward passes per tangent on the unrolled
RNN, against about 1 extra for dual numbers. It also keeps the whole forward graph, so its memory
grows with T as reverse mode's does; RTRL's memory constant in T needs the sensitivities carried
step by step, as models/rtrl.py does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .higher import _as_list, _leaves, grad
from .ops import lift
from .tensor import Tensor


def jvp(f: Callable[..., Tensor], primals: Any, tangents: Any) -> tuple[Tensor, Tensor]:
    """(f(primals), J tangents), ``torch.func.jvp``'s semantics, for Tensor-valued ``f``.

    ``primals`` and ``tangents``: one Tensor each or matching tuples (float64 copies).
    ``mg.jvp(lambda x: x * x, (mg.tensor([3.0]),), (mg.tensor([1.0]),))[1]`` is ``[6.]``.
    """
    xs, _ = _leaves(primals)
    ts, _ = _as_list(tangents)
    ts = [np.asarray(lift(t).data, dtype=np.float64) for t in ts]
    if len(ts) != len(xs) or any(t.shape != x.shape for t, x in zip(ts, xs)):
        raise ValueError(f"jvp: tangents' shapes {[t.shape for t in ts]} must match the "
                         f"primals' {[x.shape for x in xs]}")
    out = f(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"jvp: f must return a Tensor, got {type(out).__name__}")
    if not out.requires_grad:  # f does not depend on its inputs
        return out, Tensor(np.zeros(out.shape))
    u = Tensor(np.zeros(out.shape), requires_grad=True)
    pulled = grad(out, xs, grad_outputs=u, create_graph=True, allow_unused=True)
    dot = sum(((g * t).sum() for g, t in zip(pulled, ts) if g is not None), start=Tensor(0.0))
    if not dot.requires_grad:  # the Jacobian is zero (a step, a sign)
        return out.detach(), Tensor(np.zeros(out.shape))
    pushed = grad(dot, u, allow_unused=True)
    return out.detach(), Tensor(np.zeros(out.shape)) if pushed is None else pushed


def jacobian_forward(fn: Callable[[Tensor], Tensor], x: np.ndarray) -> np.ndarray:
    """The Jacobian column by column: one JVP per entry of x (reverse mode: one row per output)."""
    out_shape = fn(Tensor(np.array(x, dtype=np.float64))).shape
    columns = np.zeros((int(np.prod(out_shape)), x.size))
    for k in range(x.size):
        tangent = np.zeros(x.size)
        tangent[k] = 1
        _, column = jvp(fn, Tensor(x), Tensor(tangent.reshape(x.shape)))
        columns[:, k] = column.data.ravel()
    return columns.reshape(out_shape + x.shape)
