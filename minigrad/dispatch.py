"""numpy functions on Tensors run minigrad's own ops (NEP 13 and NEP 18).

``np.exp(t)`` is ``t.exp()``, ``np.add.reduce(t, axis)`` is ``t.sum(axis)``, ``np.where(c, t, 0)``
is ``mg.where(c, t, 0)``, and so on. This is what lets each op's derivative be written once: a VJP
written with operators, methods and numpy functions runs on arrays in ``backward()`` and, unchanged,
on Tensors in ``backward(create_graph=True)``, where it records a graph of its own.

A ufunc without a minigrad op raises a TypeError naming it, except those whose result is a plain
fact (comparisons, ``np.isfinite``). Other numpy functions (``np.allclose``, ``np.zeros_like``,
``np.shape``) run on the Tensors' arrays and return arrays without gradient, as before Tensors
took part in dispatch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import math_ops, ops, shape_ops
from .ops import plain

UFUNCS = {  # elementwise ufunc -> op
    np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul, np.true_divide: ops.div,
    np.power: ops.power, np.matmul: ops.matmul, np.negative: ops.neg, np.exp: ops.exp,
    np.log: ops.log, np.sqrt: ops.sqrt, np.absolute: ops.absolute, np.tanh: ops.tanh,
    np.sin: math_ops.sin, np.cos: math_ops.cos, np.sign: math_ops.sign,
    np.log1p: math_ops.log1p, np.expm1: math_ops.expm1, np.maximum: math_ops.maximum,
    np.minimum: math_ops.minimum,
}
REDUCTIONS = {  # ufunc.reduce -> reduction op
    np.add: ops.sum_, np.maximum: ops.max_, np.minimum: math_ops.min_,
    np.multiply: math_ops.prod,
}


def array_ufunc(self: Any, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """Run a numpy ufunc on Tensors as the matching minigrad op (NEP 13)."""
    if "out" in kwargs:
        raise TypeError(f"np.{ufunc.__name__}(..., out=...): a Tensor cannot be written in place; "
                        f"drop out= to get a new Tensor")
    if method == "__call__" and ufunc in UFUNCS and not kwargs:
        return UFUNCS[ufunc](*inputs)
    if method == "reduce" and ufunc in REDUCTIONS and set(kwargs) <= {"axis", "keepdims"}:
        return REDUCTIONS[ufunc](inputs[0], kwargs.get("axis", 0), kwargs.get("keepdims", False))
    if method == "accumulate" and ufunc is np.add and set(kwargs) <= {"axis"}:
        return math_ops.cumsum(inputs[0], kwargs.get("axis", 0))
    if method == "__call__":  # comparisons and tests (np.less, np.isfinite): plain facts
        result = ufunc(*(plain(x) for x in inputs), **kwargs)
        if all(np.asarray(r).dtype == bool for r in (result if ufunc.nout > 1 else (result,))):
            return result
    raise TypeError(f"np.{ufunc.__name__}.{method}: minigrad has no op for it on Tensors "
                    f"(use the Tensor's .data for a plain array without gradient)")


def _swapaxes(x: Any, a: int, b: int) -> Any:
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return shape_ops.transpose(x, perm)


def _moveaxis(x: Any, source: Any, destination: Any) -> Any:
    source = [s % x.ndim for s in np.atleast_1d(source)]
    destination = [d % x.ndim for d in np.atleast_1d(destination)]
    rest = [i for i in range(x.ndim) if i not in source]
    perm = [0] * x.ndim
    for s, d in zip(source, destination):
        perm[d] = s
    for d in (i for i in range(x.ndim) if i not in destination):
        perm[d] = rest.pop(0)
    return shape_ops.transpose(x, perm)


def _split(x: Any, cuts: Any, axis: int = 0) -> list:
    starts = [0, *(int(c) for c in cuts)]
    ends = [*starts[1:], x.shape[axis]]
    before = (slice(None),) * (axis % x.ndim)
    return [x[(*before, slice(a, b))] for a, b in zip(starts, ends)]


def _flip(x: Any, axis: int) -> Any:
    return x[(slice(None),) * (axis % x.ndim) + (slice(None, None, -1),)]


def _einsum(spec: str, *operands: Any) -> Any:
    from .einsum_ops import einsum  # imported late: einsum_ops needs the Tensor class

    return einsum(spec, *operands)


FUNCTIONS = {  # numpy function -> op, for the shape moves and sums VJPs are written with
    np.where: shape_ops.where, np.swapaxes: _swapaxes, np.moveaxis: _moveaxis,
    np.split: _split, np.flip: _flip, np.einsum: _einsum,
    np.concatenate: lambda ts, axis=0: shape_ops.concat(ts, axis),
    np.stack: lambda ts, axis=0: shape_ops.stack(ts, axis),
    np.cumsum: lambda x, axis=None: math_ops.cumsum(x, axis),
    np.broadcast_to: lambda x, shape: shape_ops.broadcast_to(x, shape),
    np.reshape: lambda x, shape: shape_ops.reshape(x, shape),
    np.sum: lambda x, axis=None, keepdims=False: ops.sum_(x, axis, keepdims),
    np.mean: lambda x, axis=None, keepdims=False: ops.mean(x, axis, keepdims),
}


def array_function(self: Any, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    """Run a numpy function on Tensors as minigrad's op (NEP 18), or else on their arrays."""
    if func in FUNCTIONS:
        return FUNCTIONS[func](*args, **kwargs)
    return func(*(_plain_deep(a) for a in args), **{k: _plain_deep(v) for k, v in kwargs.items()})


def _plain_deep(x: Any) -> Any:
    """Tensors to arrays, also inside lists and tuples (np.allclose([t1, t2], ...))."""
    if isinstance(x, (list, tuple)):
        return type(x)(_plain_deep(v) for v in x)
    return plain(x)
