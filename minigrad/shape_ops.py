"""Primitive ops that move elements around: reshape, transpose, indexing, concat, stack, where.

The same contract as ``minigrad.ops``: each forward beside its VJP ``vjp(g, **saved)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops
from .ops import lift, plain, record_op

if TYPE_CHECKING:
    from .tensor import Tensor


# ---- shapes and indexing --------------------------------------------------------------------
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """out = x with a new shape (same elements; ``x.view`` is the same);  dL/dx = g with x's
    shape.  ``mg.arange(6.0).reshape((2, -1)).shape`` is ``(2, 3)``."""
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
    return (g.T if inverse is None else g.transpose(inverse),)


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
    return (scatter(g, index, shape, dtype, repeats),)


def scatter(g: Any, index: Any, shape: tuple, dtype: Any, repeats: bool = True) -> Any:
    """out = zeros(shape) with g added at ``index`` (np.add.at when indices repeat), getitem's
    VJP;  dL/dg = (dL/dout)[index], a getitem. An array for an array ``g`` (first-order backward),
    a recorded Tensor for a Tensor ``g`` (create_graph)."""
    full = np.zeros(shape, dtype=dtype)
    if repeats:
        np.add.at(full, index, plain(g))
    else:
        full[index] = plain(g)
    if not isinstance(g, ops.Tensor):  # ops.Tensor: read at call time (see the end of ops.py)
        return full
    return record_op("scatter", full, (g,), scatter_vjp, {"index": index})


def scatter_vjp(g: np.ndarray, index: Any) -> tuple:
    return (g[index],)


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


# ---- the PyTorch shape vocabulary -----------------------------------------------------------
def squeeze(x: Tensor, axis: int | Sequence[int] | None = None) -> Tensor:
    """out = x without its size-1 axes (only ``axis`` when given);  dL/dx = g with x's shape.
    ``mg.zeros(2, 1, 3).squeeze().shape`` is ``(2, 3)``."""
    try:
        out = np.squeeze(x.data, axis=tuple(axis) if isinstance(axis, list) else axis)
    except ValueError:  # AxisError is a ValueError too
        raise ValueError(f"squeeze: axis {axis} is not a size-1 axis of shape {x.shape}") from None
    return record_op("squeeze", out, (x,), reshape_vjp, {"source": x.shape})


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    """out = x with a new size-1 axis at ``axis``;  dL/dx = g with x's shape.
    ``mg.zeros(3).unsqueeze(0).shape`` is ``(1, 3)``; with ``-1`` it is ``(3, 1)``."""
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for shape {x.shape}")
    out = np.expand_dims(x.data, axis)
    return record_op("unsqueeze", out, (x,), reshape_vjp, {"source": x.shape})


def flatten(x: Tensor, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """out = x with axes start_axis..end_axis merged into one;  dL/dx = g with x's shape.
    ``mg.zeros(2, 3, 4).flatten(1).shape`` is ``(2, 12)``."""
    ndim = max(x.ndim, 1)  # a 0-d tensor flattens to shape (1,), as in PyTorch
    if not (-ndim <= start_axis < ndim and -ndim <= end_axis < ndim) or (
            start_axis % ndim > end_axis % ndim):
        raise ValueError(f"flatten: axes {start_axis}..{end_axis} are not in order within shape "
                         f"{x.shape}")
    start, end = start_axis % ndim, end_axis % ndim
    shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
    return record_op("flatten", x.data.reshape(shape), (x,), reshape_vjp, {"source": x.shape})


def broadcast_to(x: Tensor, *shape: Any) -> Tensor:
    """out = x copied along new leading axes and size-1 axes to ``shape`` (numpy's rule); -1
    keeps a size, as in PyTorch's ``expand``;  dL/dx = g summed over the copies, which the engine's
    unbroadcast does as for every broadcast. The result is a read-only view, as numpy's (no copy).
    ``mg.ones(3).expand(2, -1).shape`` is ``(2, 3)``."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    extra = len(shape) - x.ndim
    if extra >= 0:
        shape = tuple(x.shape[i - extra] if n == -1 and i >= extra else n
                      for i, n in enumerate(shape))
    try:
        out = np.broadcast_to(x.data, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: shape {x.shape} cannot be broadcast to {shape}") from None
    return record_op("broadcast_to", out, (x,), broadcast_to_vjp)


def broadcast_to_vjp(g: np.ndarray) -> tuple:
    return (g,)  # the engine sums it back to the input's shape (graph.unbroadcast)


def repeat(x: Tensor, *repeats: Any) -> Tensor:
    """out = x tiled ``repeats[i]`` times along axis i (PyTorch's ``repeat``, numpy's ``tile``);
    dL/dx = the sum of g over the tiles.  ``Tensor([1.0, 2.0]).repeat(2)`` is ``[1., 2., 1., 2.]``.
    """
    reps = repeats
    if len(repeats) == 1 and isinstance(repeats[0], (tuple, list)):
        reps = tuple(repeats[0])
    if len(reps) < x.ndim or any(r < 0 for r in reps):
        raise ValueError(f"repeat: needs one count >= 0 per axis of shape {x.shape}, got {reps}")
    out = np.tile(x.data, reps)
    return record_op("repeat", out, (x,), repeat_vjp, {"reps": reps, "shape": x.shape})


def repeat_vjp(g: np.ndarray, reps: tuple, shape: tuple) -> tuple:
    padded = (1,) * (len(reps) - len(shape)) + shape  # tile treats x as this shape
    tiles = g.reshape([n for pair in zip(reps, padded) for n in pair])  # (r0, s0, r1, s1, ...)
    return (np.add.reduce(tiles, axis=tuple(range(0, 2 * len(reps), 2))).reshape(shape),)


def split(x: Tensor, size_or_sizes: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
    """The pieces of x along ``axis``: pieces of ``size`` (the last may be smaller), or of the
    given ``sizes``, as PyTorch's ``split``. Each piece is a slice ``x[..., a:b]`` (getitem), so
    dL/dx = the pieces' gradients side by side.
    ``[len(p) for p in mg.arange(5.0).split(2)]`` is ``[2, 2, 1]``."""
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"split: axis {axis} is out of range for shape {x.shape}")
    length = x.shape[axis]
    if isinstance(size_or_sizes, (int, np.integer)):
        if size_or_sizes <= 0:
            raise ValueError(f"split: the piece size must be positive, got {size_or_sizes}")
        sizes = [min(size_or_sizes, length - s) for s in range(0, length, size_or_sizes)]
    else:
        sizes = list(size_or_sizes)
        if sum(sizes) != length or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} must add up to {length} (axis {axis} of "
                             f"shape {x.shape})")
    before = (slice(None),) * (axis % x.ndim)
    starts = [0, *itertools.accumulate(int(s) for s in sizes)]
    return tuple(getitem(x, (*before, slice(a, b))) for a, b in zip(starts[:-1], starts[1:]))


def pad(x: Tensor, pad_width: Any, value: float = 0.0) -> Tensor:
    """out = x with ``value`` around it: ``pad_width`` is numpy's ((before, after) per axis, one
    pair for all axes, or one number); dL/dx = the middle of g, the padding gets none.
    ``mg.pad(Tensor([1.0]), 1)`` is ``[0., 1., 0.]``."""
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width} does not fit shape {x.shape} (give "
                         f"(before, after) per axis)") from None
    if x.ndim == 0 or (widths < 0).any():
        raise ValueError(f"pad: widths must be >= 0 and the tensor not 0-d; got {pad_width} for "
                         f"shape {x.shape}")
    out = np.pad(x.data, widths, mode="constant", constant_values=value)
    middle = tuple(slice(b, b + n) for (b, _), n in zip(widths.tolist(), x.shape))
    return record_op("pad", out, (x,), pad_vjp, {"middle": middle})


def pad_vjp(g: np.ndarray, middle: tuple) -> tuple:
    return (g[middle],)
