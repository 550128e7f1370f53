"""Primitive ops: each forward beside its vector-Jacobian product (VJP).

Every op returns ``make_node(value, name, parents, vjp)``. ``vjp(g)``, with ``g = dL/d out``,
returns one gradient per parent, in the op's own shapes before broadcasting (the engine sums them
back to each parent's shape in one place, ``autograd.unbroadcast``), or ``None`` for a parent that
needs none. VJPs close over numpy arrays, never over the output tensor, so no reference cycles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensor import Tensor, make_node


def lift(x: Any, like: Any = None) -> Tensor:
    """Make an operand a Tensor. A Python number takes the float dtype of ``like``."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)) and isinstance(like, Tensor) and like.data.dtype.kind == "f":
        return Tensor(np.asarray(x, dtype=like.data.dtype))
    return Tensor(x)


def _binary(name: str, fn: Any, a: Any, b: Any) -> tuple[Tensor, Tensor, np.ndarray]:
    if type(a) is not Tensor:
        a = lift(a, b)
    if type(b) is not Tensor:
        b = lift(b, a)
    try:
        return a, b, fn(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"{name}: shapes {a.shape} and {b.shape} do not broadcast together"
        ) from None


# ---- arithmetic -----------------------------------------------------------------------------
def add(a: Any, b: Any) -> Tensor:
    """out = a + b;  dL/da = g, dL/db = g."""
    a, b, out = _binary("add", np.add, a, b)
    return make_node(out, "add", (a, b), lambda g: (g, g))


def sub(a: Any, b: Any) -> Tensor:
    """out = a - b;  dL/da = g, dL/db = -g."""
    a, b, out = _binary("sub", np.subtract, a, b)
    return make_node(out, "sub", (a, b), lambda g: (g, -g if b.requires_grad else None))


def mul(a: Any, b: Any) -> Tensor:
    """out = a * b;  dL/da = g b, dL/db = g a."""
    a, b, out = _binary("mul", np.multiply, a, b)
    ad, bd, na, nb = a.data, b.data, a.requires_grad, b.requires_grad
    return make_node(
        out, "mul", (a, b), lambda g: (g * bd if na else None, g * ad if nb else None)
    )


def div(a: Any, b: Any) -> Tensor:
    """out = a / b;  dL/da = g / b, dL/db = -g a / b^2 = -g out / b."""
    a, b, out = _binary("div", np.divide, a, b)
    bd, na, nb = b.data, a.requires_grad, b.requires_grad
    return make_node(
        out, "div", (a, b), lambda g: (g / bd if na else None, -g * out / bd if nb else None)
    )


def neg(a: Tensor) -> Tensor:
    """out = -a;  dL/da = -g."""
    return make_node(-a.data, "neg", (a,), lambda g: (-g,))


def power(a: Any, b: Any) -> Tensor:
    """out = a ** b;  dL/da = g b a^(b-1), dL/db = g out log(a) (taken as 0 where a <= 0)."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)):  # the common x ** p
        ad, p = a.data, b
        return make_node(ad**p, "pow", (a,), lambda g: (g * p * ad ** (p - 1),))
    a, b, out = _binary("pow", np.power, a, b)
    ad, bd, na, nb = a.data, b.data, a.requires_grad, b.requires_grad

    def vjp(g: np.ndarray) -> tuple:
        ga = g * bd * ad ** (bd - 1) if na else None
        gb = g * out * np.log(np.where(ad > 0, ad, 1)) if nb else None
        return ga, gb

    return make_node(out, "pow", (a, b), vjp)


def matmul(a: Any, b: Any) -> Tensor:
    """out = a @ b (1-D, 2-D, or batched with broadcast batch axes).

    dL/da = g @ b^T, dL/db = a^T @ g (on the last two axes; a 1-D side is a row or column).
    """
    a = lift(a, b)
    b = lift(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
    try:
        out = a.data @ b.data
    except ValueError:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not match "
            f"(inner sizes {a.shape[-1]} and {b.shape[-2] if b.ndim > 1 else b.shape[0]})"
        ) from None
    ad, bd, na, nb = a.data, b.data, a.requires_grad, b.requires_grad

    def vjp(g: np.ndarray) -> tuple:
        if ad.ndim == 1 and bd.ndim == 1:
            return (g * bd if na else None, g * ad if nb else None)
        a2 = ad[None, :] if ad.ndim == 1 else ad
        b2 = bd[:, None] if bd.ndim == 1 else bd
        g2 = g[..., None, :] if ad.ndim == 1 else g
        g2 = g2[..., None] if bd.ndim == 1 else g2
        ga = gb = None
        if na:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            ga = ga[..., 0, :] if ad.ndim == 1 else ga
        if nb:
            gb = np.swapaxes(a2, -1, -2) @ g2
            gb = gb[..., 0] if bd.ndim == 1 else gb
        return ga, gb

    return make_node(out, "matmul", (a, b), vjp)


# ---- elementwise functions ------------------------------------------------------------------
def exp(x: Tensor) -> Tensor:
    """out = e^x;  dL/dx = g out."""
    out = np.exp(x.data)
    return make_node(out, "exp", (x,), lambda g: (g * out,))


def log(x: Tensor) -> Tensor:
    """out = ln x;  dL/dx = g / x."""
    xd = x.data
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(xd)
    return make_node(out, "log", (x,), lambda g: (g / xd,))


def sqrt(x: Tensor) -> Tensor:
    """out = sqrt(x);  dL/dx = g / (2 out)."""
    with np.errstate(invalid="ignore"):
        out = np.sqrt(x.data)

    def vjp(g: np.ndarray) -> tuple:
        with np.errstate(divide="ignore"):
            return (g / (2 * out),)

    return make_node(out, "sqrt", (x,), vjp)


def absolute(x: Tensor) -> Tensor:
    """out = |x|;  dL/dx = g sign(x), with abs'(0) = 0."""
    xd = x.data
    return make_node(np.abs(xd), "abs", (x,), lambda g: (g * np.sign(xd),))


def tanh(x: Tensor) -> Tensor:
    """out = tanh x;  dL/dx = g (1 - out^2)."""
    out = np.tanh(x.data)
    return make_node(out, "tanh", (x,), lambda g: (g * (1 - out * out),))


def sigmoid(x: Tensor) -> Tensor:
    """out = 1 / (1 + e^-x) = (1 + tanh(x/2)) / 2 (no overflow);  dL/dx = g out (1 - out)."""
    out = 0.5 + 0.5 * np.tanh(0.5 * x.data)
    return make_node(out, "sigmoid", (x,), lambda g: (g * out * (1 - out),))


def relu(x: Tensor) -> Tensor:
    """out = max(x, 0);  dL/dx = g [x > 0], with relu'(0) = 0."""
    xd = x.data
    return make_node(np.maximum(xd, 0), "relu", (x,), lambda g: (g * (xd > 0),))


def clip(x: Tensor, lo: float | None = None, hi: float | None = None) -> Tensor:
    """out = min(max(x, lo), hi);  dL/dx = g where lo <= x <= hi, else 0."""
    xd = x.data
    inside = np.ones(xd.shape, dtype=bool)
    if lo is not None:
        inside &= xd >= lo
    if hi is not None:
        inside &= xd <= hi
    return make_node(np.clip(xd, lo, hi), "clip", (x,), lambda g: (g * inside,))


def astype(x: Tensor, dtype: Any) -> Tensor:
    """out = x converted to ``dtype``;  dL/dx = g converted back."""
    source = x.data.dtype
    out = x.data.astype(dtype)
    if out.dtype.kind not in "fc":  # an int/bool result is an index or mask: no gradient
        return Tensor(out)
    return make_node(out, "astype", (x,), lambda g: (g.astype(source),))


# ---- reductions -----------------------------------------------------------------------------
def _axes(name: str, axis: int | Sequence[int] | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"{name}: axis {ax} is out of range for shape {shape}")
    return tuple(sorted(ax % ndim for ax in axes)) if ndim else ()


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a reduction with keepdims: size 1 on the reduced axes."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _spread(g: np.ndarray, kept: tuple[int, ...], shape: tuple[int, ...], scale: float = 1.0):
    """Copy a reduced gradient back along the reduced axes (times ``scale``): a new array."""
    return np.multiply(g.reshape(kept), scale, out=np.empty(shape, dtype=g.dtype))


def sum_(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = sum of x over ``axis``;  dL/dx = g copied along the summed axes."""
    axes, shape = _axes("sum", axis, x.shape), x.shape
    kept = _kept_shape(shape, axes)
    out = np.sum(x.data, axis=axes, keepdims=keepdims)
    return make_node(out, "sum", (x,), lambda g: (_spread(g, kept, shape),))


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = sum of x over ``axis`` / n;  dL/dx = g / n copied along the averaged axes."""
    axes, shape = _axes("mean", axis, x.shape), x.shape
    kept = _kept_shape(shape, axes)
    n = int(np.prod([shape[ax] for ax in axes]))
    out = np.mean(x.data, axis=axes, keepdims=keepdims)
    return make_node(out, "mean", (x,), lambda g: (_spread(g, kept, shape, 1.0 / n),))


def max_(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = max of x over ``axis``;  dL/dx = g at the maxima, split evenly between ties."""
    axes = _axes("max", axis, x.shape)
    if x.size == 0:
        raise ValueError(f"max: the tensor is empty (shape {x.shape})")
    xd = x.data
    top = np.max(xd, axis=axes, keepdims=True)
    out = top if keepdims else top.reshape([n for i, n in enumerate(top.shape) if i not in axes])

    def vjp(g: np.ndarray) -> tuple:
        winners = xd == top
        ties = winners.sum(axis=axes, keepdims=True).astype(xd.dtype)  # int counts would upcast g
        return (winners * (g.reshape(top.shape) / ties),)

    return make_node(out, "max", (x,), vjp)


# ---- shapes and indexing --------------------------------------------------------------------
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """out = x with a new shape (same elements);  dL/dx = g with x's shape."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    source = x.shape
    try:
        out = x.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape {source} ({x.size} elements) to {shape}") from None
    return make_node(out, "reshape", (x,), lambda g: (g.reshape(source),))


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """out = x with axes permuted (reversed by default);  dL/dx = g with the inverse permutation."""
    if not axes:  # x.T: reverse the axes, which is its own inverse
        return make_node(x.data.T, "transpose", (x,), lambda g: (g.T,))
    axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    perm = axes
    in_range = all(-x.ndim <= ax < x.ndim for ax in perm)
    if not in_range or sorted(ax % x.ndim for ax in perm) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {perm} are not a permutation for shape {x.shape}")
    inverse = tuple(np.argsort([ax % x.ndim for ax in perm]))
    return make_node(x.data.transpose(perm), "transpose", (x,), lambda g: (g.transpose(inverse),))


def _plain_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


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
    shape, dtype, repeats = x.shape, x.data.dtype, _has_int_array(index)

    def vjp(g: np.ndarray) -> tuple:
        full = np.zeros(shape, dtype=dtype)
        if repeats:
            np.add.at(full, index, g)
        else:
            full[index] = g
        return (full,)

    return make_node(out, "getitem", (x,), vjp)


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
    return make_node(out, "concat", tensors, lambda g: tuple(np.split(g, cuts, axis=axis)))


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
    new_axis = axis % out.ndim
    return make_node(out, "stack", tensors, lambda g: tuple(np.moveaxis(g, new_axis, 0)))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """out = a where condition else b;  dL/da = g where condition, dL/db = g elsewhere."""
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    a = lift(a, b)
    b = lift(b, a)
    try:
        out = np.where(cond, a.data, b.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {a.shape} and {b.shape} do not broadcast together"
        ) from None
    zero = np.zeros((), dtype=out.dtype)
    return make_node(
        out, "where", (a, b), lambda g: (np.where(cond, g, zero), np.where(cond, zero, g))
    )
