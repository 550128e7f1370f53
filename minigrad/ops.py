"""Primitive ops: each forward beside its vector-Jacobian product (VJP).

Every op returns ``make_node(value, name, parents, vjp, saved)``. ``vjp(g, *saved)``, with
``g = dL/d out``, returns one gradient per parent, in the op's own shapes before broadcasting (the
engine sums them back to each parent's shape in one place, ``autograd.unbroadcast``), or ``None``
for a parent that needs none. A VJP is a plain function and ``saved`` a tuple of what it needs
(arrays, shapes, flags saying which parents need a gradient): no closures, so a graph node costs
the garbage collector as few tracked objects as possible, and no reference cycles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensor import Tensor, make_node


def lift(x: Any, like: Any = None) -> Tensor:
    """Make an operand a Tensor. A number, or a list of numbers, takes the float dtype of
    ``like`` (float32 stays float32); anything else follows ``Tensor``'s rules."""
    if isinstance(x, Tensor):
        return x
    if (isinstance(x, (int, float, list, tuple)) and isinstance(like, Tensor)
            and like.data.dtype.kind == "f"):
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
    return make_node(out, "add", (a, b), add_vjp)


def add_vjp(g: np.ndarray) -> tuple:
    return g, g


def sub(a: Any, b: Any) -> Tensor:
    """out = a - b;  dL/da = g, dL/db = -g."""
    a, b, out = _binary("sub", np.subtract, a, b)
    return make_node(out, "sub", (a, b), sub_vjp, (b.requires_grad,))


def sub_vjp(g: np.ndarray, nb: bool) -> tuple:
    return g, -g if nb else None


def mul(a: Any, b: Any) -> Tensor:
    """out = a * b;  dL/da = g b, dL/db = g a."""
    a, b, out = _binary("mul", np.multiply, a, b)
    saved = (a.data, b.data, a.requires_grad, b.requires_grad)
    return make_node(out, "mul", (a, b), mul_vjp, saved)


def mul_vjp(g: np.ndarray, a: np.ndarray, b: np.ndarray, na: bool, nb: bool) -> tuple:
    return g * b if na else None, g * a if nb else None


def div(a: Any, b: Any) -> Tensor:
    """out = a / b;  dL/da = g / b, dL/db = -g a / b^2 = -g out / b."""
    a, b, out = _binary("div", np.divide, a, b)
    return make_node(out, "div", (a, b), div_vjp, (b.data, out, a.requires_grad, b.requires_grad))


def div_vjp(g: np.ndarray, b: np.ndarray, out: np.ndarray, na: bool, nb: bool) -> tuple:
    return g / b if na else None, -g * out / b if nb else None


def neg(a: Tensor) -> Tensor:
    """out = -a;  dL/da = -g."""
    return make_node(-a.data, "neg", (a,), neg_vjp)


def neg_vjp(g: np.ndarray) -> tuple:
    return (-g,)


def power(a: Any, b: Any) -> Tensor:
    """out = a ** b;  dL/da = g b a^(b-1), dL/db = g out log(a) (taken as 0 where a <= 0)."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)):  # the common x ** p
        p = b.item() if isinstance(b, np.generic) else b  # a Python number keeps a's dtype
        return make_node(a.data**p, "pow", (a,), power_number_vjp, (a.data, p))
    a, b, out = _binary("pow", np.power, a, b)
    saved = (a.data, b.data, out, a.requires_grad, b.requires_grad)
    return make_node(out, "pow", (a, b), power_vjp, saved)


def power_number_vjp(g: np.ndarray, a: np.ndarray, p: float) -> tuple:
    return (g * p * a ** (p - 1),)


def power_vjp(g: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray, na: bool,
              nb: bool) -> tuple:
    ga = g * b * a ** (b - 1) if na else None
    gb = g * out * np.log(np.where(a > 0, a, 1)) if nb else None
    return ga, gb


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
    saved = (a.data, b.data, a.requires_grad, b.requires_grad)
    return make_node(out, "matmul", (a, b), matmul_vjp, saved)


def matmul_vjp(g: np.ndarray, a: np.ndarray, b: np.ndarray, na: bool, nb: bool) -> tuple:
    if a.ndim == 2 and b.ndim == 2:  # the common case, spelled out
        return g @ b.T if na else None, a.T @ g if nb else None
    if a.ndim == 1 and b.ndim == 1:
        return g * b if na else None, g * a if nb else None
    a2 = a[None, :] if a.ndim == 1 else a  # a 1-D side is a row (left) or a column (right)
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g[..., None, :] if a.ndim == 1 else g
    g2 = g2[..., None] if b.ndim == 1 else g2
    ga = gb = None
    if na:
        ga = g2 @ np.swapaxes(b2, -1, -2)
        ga = ga[..., 0, :] if a.ndim == 1 else ga
    if nb:
        gb = np.swapaxes(a2, -1, -2) @ g2
        gb = gb[..., 0] if b.ndim == 1 else gb
    return ga, gb


# ---- elementwise functions ------------------------------------------------------------------
def exp(x: Tensor) -> Tensor:
    """out = e^x;  dL/dx = g out."""
    out = np.exp(x.data)
    return make_node(out, "exp", (x,), exp_vjp, (out,))


def exp_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    return (g * out,)


def log(x: Tensor) -> Tensor:
    """out = ln x;  dL/dx = g / x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(x.data)
    return make_node(out, "log", (x,), log_vjp, (x.data,))


def log_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (g / x,)


def sqrt(x: Tensor) -> Tensor:
    """out = sqrt(x);  dL/dx = g / (2 out)."""
    with np.errstate(invalid="ignore"):
        out = np.sqrt(x.data)
    return make_node(out, "sqrt", (x,), sqrt_vjp, (out,))


def sqrt_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    with np.errstate(divide="ignore"):
        return (g / (2 * out),)


def absolute(x: Tensor) -> Tensor:
    """out = |x|;  dL/dx = g sign(x), with abs'(0) = 0."""
    return make_node(np.abs(x.data), "abs", (x,), absolute_vjp, (x.data,))


def absolute_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (g * np.sign(x),)


def tanh(x: Tensor) -> Tensor:
    """out = tanh x;  dL/dx = g (1 - out^2)."""
    out = np.tanh(x.data)
    return make_node(out, "tanh", (x,), tanh_vjp, (out,))


def tanh_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    local = np.multiply(out, out, out=np.empty_like(out))  # tanh' = 1 - tanh^2, in one array
    np.subtract(1, local, out=local)
    local *= g
    return (local,)


def sigmoid(x: Tensor) -> Tensor:
    """out = 1 / (1 + e^-x) = (1 + tanh(x/2)) / 2 (no overflow);  dL/dx = g out (1 - out)."""
    out = 0.5 + 0.5 * np.tanh(0.5 * x.data)
    return make_node(out, "sigmoid", (x,), sigmoid_vjp, (out,))


def sigmoid_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    local = 1 - out  # sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)), built and scaled in one array
    local *= out
    local *= g
    return (local,)


def relu(x: Tensor) -> Tensor:
    """out = max(x, 0);  dL/dx = g [x > 0], with relu'(0) = 0."""
    return make_node(np.maximum(x.data, 0), "relu", (x,), relu_vjp, (x.data,))


def relu_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (g * (x > 0),)


def clip(x: Tensor, lo: float | None = None, hi: float | None = None) -> Tensor:
    """out = min(max(x, lo), hi);  dL/dx = g where lo <= x <= hi, else 0."""
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both")
    xd = x.data
    inside = np.ones(xd.shape, dtype=bool)
    if lo is not None:
        inside &= xd >= lo
    if hi is not None:
        inside &= xd <= hi
    return make_node(np.clip(xd, lo, hi), "clip", (x,), clip_vjp, (inside,))


def clip_vjp(g: np.ndarray, inside: np.ndarray) -> tuple:
    return (g * inside,)


def astype(x: Tensor, dtype: Any) -> Tensor:
    """out = x converted to ``dtype``;  dL/dx = g converted back."""
    out = x.data.astype(dtype)
    if out.dtype.kind not in "fc":  # an int/bool result is an index or mask: no gradient
        return Tensor(out)
    return make_node(out, "astype", (x,), astype_vjp, (x.data.dtype,))


def astype_vjp(g: np.ndarray, source: np.dtype) -> tuple:
    return (g.astype(source),)


# ---- reductions -----------------------------------------------------------------------------
def _axes(name: str, axis: int | Sequence[int] | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"{name}: axis {ax} is out of range for shape {shape}")
    normalized = tuple(sorted(ax % ndim for ax in axes)) if ndim else ()
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: axis {axis} names an axis twice (shape {shape})")
    return normalized


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a reduction with keepdims: size 1 on the reduced axes."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _spread(g: np.ndarray, kept: tuple[int, ...], shape: tuple[int, ...], scale: float = 1.0):
    """Copy a reduced gradient back along the reduced axes (times ``scale``): a new array."""
    return np.multiply(g.reshape(kept), scale, out=np.empty(shape, dtype=g.dtype))


def sum_(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = sum of x over ``axis``;  dL/dx = g copied along the summed axes."""
    axes, shape = _axes("sum", axis, x.shape), x.shape
    out = np.add.reduce(x.data, axis=axes, keepdims=keepdims)
    return make_node(out, "sum", (x,), sum_vjp, (_kept_shape(shape, axes), shape))


def sum_vjp(g: np.ndarray, kept: tuple, shape: tuple) -> tuple:
    return (_spread(g, kept, shape),)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = sum of x over ``axis`` / n;  dL/dx = g / n copied along the averaged axes."""
    axes, shape = _axes("mean", axis, x.shape), x.shape
    n = int(np.prod([shape[ax] for ax in axes]))
    out = np.mean(x.data, axis=axes, keepdims=keepdims)
    return make_node(out, "mean", (x,), mean_vjp, (_kept_shape(shape, axes), shape, n))


def mean_vjp(g: np.ndarray, kept: tuple, shape: tuple, n: int) -> tuple:
    return (_spread(g, kept, shape, 1.0 / n),)


def max_(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = max of x over ``axis``;  dL/dx = g at the maxima, split evenly between ties."""
    axes = _axes("max", axis, x.shape)
    if x.size == 0:
        raise ValueError(f"max: the tensor is empty (shape {x.shape})")
    top = np.maximum.reduce(x.data, axis=axes, keepdims=True)
    out = top if keepdims else top.reshape([n for i, n in enumerate(top.shape) if i not in axes])
    return make_node(out, "max", (x,), max_vjp, (x.data, top, axes))


def max_vjp(g: np.ndarray, x: np.ndarray, top: np.ndarray, axes: tuple) -> tuple:
    winners = x == top
    ties = winners.sum(axis=axes, keepdims=True).astype(x.dtype)  # int counts would upcast g
    return (winners * (g.reshape(top.shape) / ties),)
