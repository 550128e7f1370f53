"""Primitive ops that move elements around: reshape, transpose, indexing, concat, stack, where.

The same contract as ``minigrad.ops``: each forward beside its VJP ``vjp(g, **saved)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .ops import lift, plain, record_op

if TYPE_CHECKING:
    from .tensor import Tensor


# ---- shapes and indexing --------------------------------------------------------------------
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """out = x with a new shape (same elements);  dL/dx = g with x's shape."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    try:
        out = x.data.reshape(shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape {x.shape} ({x.size} elements) to {shape}"
        ) from None
    return record_op("reshape", out, (x,), reshape_vjp, {"source": x.shape})


def reshape_vjp(g: np.ndarray, source: tuple) -> tuple:
    return (g.reshape(source),)


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """out = x with axes permuted (reversed by default);  dL/dx = g with the inverse permutation."""
    if not axes:  # x.T: reverse the axes, which is its own inverse
        return record_op("transpose", x.data.T, (x,), transpose_vjp)
    perm = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    in_range = all(-x.ndim <= ax < x.ndim for ax in perm)
    if not in_range or sorted(ax % x.ndim for ax in perm) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {perm} are not a permutation for shape {x.shape}")
    inverse = tuple(np.argsort([ax % x.ndim for ax in perm]))
    return record_op("transpose", x.data.transpose(perm), (x,), transpose_vjp, {"inverse": inverse})


def transpose_vjp(g: np.ndarray, inverse: tuple | None = None) -> tuple:
    return (g.transpose(inverse),)


def _plain_index(index: Any) -> Any:
    return tuple(plain(i) for i in index) if isinstance(index, tuple) else plain(index)


def _has_int_array(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(
        isinstance(p, (list, np.ndarray)) and np.asarray(p).dtype.kind in "iu" for p in parts
    )


def getitem(x: Tensor, index: Any) -> Tensor:
    """out = x[index];  dL/dx = g scattered back to the picked places.

    Integer-array indices may repeat (an embedding lookup): their gradients add (np.add.at).
    """
    index = _plain_index(index)
    try:
        out = x.data[index]
    except IndexError as err:
        raise IndexError(f"getitem: {err} (tensor shape {x.shape})") from None
    saved = {
        "index": index,
        "shape": x.shape,
        "dtype": x.data.dtype,
        "repeats": _has_int_array(index),
    }
    return record_op("getitem", out, (x,), getitem_vjp, saved)


def getitem_vjp(g: np.ndarray, index: Any, shape: tuple, dtype: np.dtype, repeats: bool) -> tuple:
    full = np.zeros(shape, dtype=dtype)
    if repeats:
        np.add.at(full, index, g)
    else:
        full[index] = g
    return (full,)


def concat(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """out = the tensors joined along ``axis``;  dL/d(piece) = the matching slice of g."""
    tensors = tuple(lift(t) for t in tensors)
    if not tensors:
        raise ValueError("concat: needs at least one tensor")
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:  # AxisError is a ValueError too
        shapes = [t.shape for t in tensors]
        raise ValueError(f"concat: cannot join shapes {shapes} along axis {axis}") from None
    cuts = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return record_op("concat", out, tensors, concat_vjp, {"cuts": cuts, "axis": axis})


def concat_vjp(g: np.ndarray, cuts: np.ndarray, axis: int) -> tuple:
    return tuple(np.split(g, cuts, axis=axis))


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """out = the tensors stacked along a new ``axis``;  dL/d(piece i) = g[..., i, ...]."""
    tensors = tuple(lift(t) for t in tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    try:
        out = np.stack([t.data for t in tensors], axis=axis)
    except ValueError:  # AxisError is a ValueError too
        shapes = [t.shape for t in tensors]
        raise ValueError(f"stack: shapes {shapes} must all be equal (axis {axis})") from None
    return record_op("stack", out, tensors, stack_vjp, {"axis": axis % out.ndim})


def stack_vjp(g: np.ndarray, axis: int) -> tuple:
    return tuple(np.moveaxis(g, axis, 0))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """out = a where condition else b;  dL/da = g where condition, dL/db = g elsewhere."""
    cond = np.asarray(plain(condition), dtype=bool)
    a = lift(a, b)
    b = lift(b, a)
    try:
        out = np.where(cond, a.data, b.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {a.shape} and {b.shape} do not broadcast together"
        ) from None
    return record_op("where", out, (a, b), where_vjp, {"cond": cond})


def where_vjp(g: np.ndarray, cond: np.ndarray) -> tuple:
    zero = np.zeros((), dtype=g.dtype)
    return np.where(cond, g, zero), np.where(cond, zero, g)
