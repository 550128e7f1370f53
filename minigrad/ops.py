"""Primitive ops: each forward beside its vector-Jacobian product (VJP).

Every op returns ``record_op(name, value, parents, vjp, saved)``. ``vjp(g, **saved)``, with
``g = dL/d out``, returns one gradient per parent, in the op's own shapes before broadcasting (the
engine sums them back to each parent's shape in one place, ``autograd.unbroadcast``), or ``None``
for a parent that needs none. ``saved`` names what the VJP needs: arrays, shapes, and flags
``needs_a``/``needs_b`` saying which parents need a gradient, in a dict whose keys are the
VJP's parameter names. A VJP is a plain function, not a closure: a graph node then costs the
garbage collector as few tracked objects as possible, and holds no reference cycles.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .graph import NOTHING, collect_while_paused, graph_pause
from .modes import DEFAULTS, OPEN, PER_THREAD, check_finite, user_line

# Every tensor takes the next number when it is made, so parents always number below children:
# sorting by it is a topological order. In-place changes take a number from the same counter.
creation_order = itertools.count()


def record_op(op: str, value: Any, parents: tuple[Tensor, ...], vjp: Callable[..., tuple],
              saved: dict = NOTHING) -> Tensor:
    """Wrap an op's result as a Tensor and record it in the graph: how every primitive is made.

    ``vjp(g, **saved)`` must return one gradient per parent (or None for a parent that needs
    none), in the shapes the op saw before broadcasting. Nothing is linked when no parent
    requires grad or recording is off (``no_grad()``). Example, a new primitive::

        def softplus(x):  # out = log(1 + e^x);  dL/dx = g sigmoid(x)
            out = np.logaddexp(0, x.data)
            return mg.record_op("softplus", out, (x,), softplus_vjp, {"x": x.data})

        def softplus_vjp(g, x):
            return (g / (1 + np.exp(-x)),)
    """
    # NOTE: saved is a dict literal, not **keywords: packing keywords costs more than the op.
    modes = PER_THREAD.modes if OPEN else DEFAULTS  # modes.current(), inlined
    out = Tensor.__new__(Tensor)
    # numpy returns scalars, not 0-d arrays, from full reductions and ufuncs on 0-d arrays
    out.data = value if type(value) is np.ndarray else np.asarray(value)
    out.grad = out.name = None
    out.scope = modes.scope
    out._seq = seq = next(creation_order)
    if modes.grad_enabled:
        for parent in parents:  # NOTE: a plain loop: any() or a helper costs more than the op
            if parent.requires_grad:
                out.requires_grad, out.op, out.parents, out.vjp = True, op, parents, vjp
                out.saved = saved
                if not seq & 1023:  # every 1024th node holds the GraphPause: see graph.py
                    out._pause = graph_pause()
                    collect_while_paused()
                break
        else:
            out.requires_grad, out.op, out.parents, out.vjp = False, None, (), None
            out.saved = NOTHING
    else:
        out.requires_grad, out.op, out.parents, out.vjp, out.saved = False, None, (), None, NOTHING
    if modes.anomaly:
        out.op, out._created_at = op, user_line()
        check_finite(out.data, out, "forward value")
        if not out.requires_grad:
            out.op = None
    return out


def plain(x: Any) -> Any:
    """A Tensor's array, anything else as it is (for indices, conditions, constants)."""
    return x.data if isinstance(x, Tensor) else x


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
    except ValueError as err:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(
                f"{name}: shapes {a.shape} and {b.shape} do not broadcast together"
            ) from None
        raise ValueError(f"{name}: {err} (shapes {a.shape} and {b.shape})") from None


# ---- arithmetic -----------------------------------------------------------------------------
def add(a: Any, b: Any) -> Tensor:
    """out = a + b;  dL/da = g, dL/db = g."""
    a, b, out = _binary("add", np.add, a, b)
    return record_op("add", out, (a, b), add_vjp)


def add_vjp(g: np.ndarray) -> tuple:
    return g, g


def sub(a: Any, b: Any) -> Tensor:
    """out = a - b;  dL/da = g, dL/db = -g."""
    a, b, out = _binary("sub", np.subtract, a, b)
    return record_op("sub", out, (a, b), sub_vjp, {"needs_b": b.requires_grad})


def sub_vjp(g: np.ndarray, needs_b: bool) -> tuple:
    return g, -g if needs_b else None


def mul(a: Any, b: Any) -> Tensor:
    """out = a * b;  dL/da = g b, dL/db = g a."""
    a, b, out = _binary("mul", np.multiply, a, b)
    saved = {"a": a.data, "b": b.data, "needs_a": a.requires_grad, "needs_b": b.requires_grad}
    return record_op("mul", out, (a, b), mul_vjp, saved)


def mul_vjp(g: np.ndarray, a: np.ndarray, b: np.ndarray, needs_a: bool, needs_b: bool) -> tuple:
    return g * b if needs_a else None, g * a if needs_b else None


def div(a: Any, b: Any) -> Tensor:
    """out = a / b;  dL/da = g / b, dL/db = -g a / b^2 = -g out / b."""
    a, b, out = _binary("div", np.divide, a, b)
    saved = {"b": b.data, "out": out, "needs_a": a.requires_grad, "needs_b": b.requires_grad}
    return record_op("div", out, (a, b), div_vjp, saved)


def div_vjp(g: np.ndarray, b: np.ndarray, out: np.ndarray, needs_a: bool,
            needs_b: bool) -> tuple:
    return g / b if needs_a else None, -g * out / b if needs_b else None


def neg(a: Tensor) -> Tensor:
    """out = -a;  dL/da = -g."""
    return record_op("neg", -a.data, (a,), neg_vjp)


def neg_vjp(g: np.ndarray) -> tuple:
    return (-g,)


def power(a: Any, b: Any) -> Tensor:
    """out = a ** b;  dL/da = g b a^(b-1) (0 where b = 0, even at a = 0),
    dL/db = g out log(a) (taken as 0 where a <= 0)."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)):  # the common x ** p
        p = b.item() if isinstance(b, np.generic) else b  # a Python number keeps a's dtype
        return record_op("pow", a.data**p, (a,), power_number_vjp, {"a": a.data, "p": p})
    a, b, out = _binary("pow", np.power, a, b)
    saved = {
        "a": a.data,
        "b": b.data,
        "out": out,
        "needs_a": a.requires_grad,
        "needs_b": b.requires_grad,
    }
    return record_op("pow", out, (a, b), power_vjp, saved)


def power_number_vjp(g: np.ndarray, a: np.ndarray, p: float) -> tuple:
    if p == 0:  # x^0 = 1 is constant, also at x = 0 where p x^(p-1) would be 0 * inf
        return (np.zeros_like(g),)
    return (g * p * a ** (p - 1),)


def power_vjp(g: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray, needs_a: bool,
              needs_b: bool) -> tuple:
    ga = gb = None
    if needs_a:
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = np.where(b == 0, 0, g * b * a ** (b - 1))
    if needs_b:
        gb = g * out * np.log(np.where(a > 0, a, 1))
    return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    """out = a @ b (1-D, 2-D, or batched with broadcast batch axes).

    dL/da = g @ b^T, dL/db = a^T @ g (on the last two axes; a 1-D side is a row or column).
    """
    if type(a) is not Tensor:
        a = lift(a, b)
    if type(b) is not Tensor:
        b = lift(b, a)
    # NOTE: .data.ndim, not the .ndim property: a property call costs as much as the check
    if a.data.ndim == 0 or b.data.ndim == 0:
        raise ValueError(f"matmul: needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
    try:
        out = a.data @ b.data
    except ValueError:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not match "
            f"(inner sizes {a.shape[-1]} and {b.shape[-2] if b.ndim > 1 else b.shape[0]})"
        ) from None
    saved = {"a": a.data, "b": b.data, "needs_a": a.requires_grad, "needs_b": b.requires_grad}
    return record_op("matmul", out, (a, b), matmul_vjp, saved)


def matmul_vjp(g: np.ndarray, a: np.ndarray, b: np.ndarray, needs_a: bool,
               needs_b: bool) -> tuple:
    if a.ndim == 2 and b.ndim == 2:  # the common case, spelled out
        return g @ b.T if needs_a else None, a.T @ g if needs_b else None
    if a.ndim == 1 and b.ndim == 1:
        return g * b if needs_a else None, g * a if needs_b else None
    a2 = a[None, :] if a.ndim == 1 else a  # a 1-D side is a row (left) or a column (right)
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g[..., None, :] if a.ndim == 1 else g
    g2 = g2[..., None] if b.ndim == 1 else g2
    ga = gb = None
    if needs_a:
        ga = g2 @ np.swapaxes(b2, -1, -2)
        ga = ga[..., 0, :] if a.ndim == 1 else ga
    if needs_b:
        gb = np.swapaxes(a2, -1, -2) @ g2
        gb = gb[..., 0] if b.ndim == 1 else gb
    return ga, gb


# ---- elementwise functions ------------------------------------------------------------------
def exp(x: Tensor) -> Tensor:
    """out = e^x;  dL/dx = g out."""
    out = np.exp(x.data)
    return record_op("exp", out, (x,), exp_vjp, {"out": out})


def exp_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    return (g * out,)


def log(x: Tensor) -> Tensor:
    """out = ln x;  dL/dx = g / x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(x.data)
    return record_op("log", out, (x,), log_vjp, {"x": x.data})


def log_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (g / x,)


def sqrt(x: Tensor) -> Tensor:
    """out = sqrt(x);  dL/dx = g / (2 out)."""
    with np.errstate(invalid="ignore"):
        out = np.sqrt(x.data)
    return record_op("sqrt", out, (x,), sqrt_vjp, {"out": out})


def sqrt_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    with np.errstate(divide="ignore"):
        return (g / (2 * out),)


def absolute(x: Tensor) -> Tensor:
    """out = |x|;  dL/dx = g sign(x), with abs'(0) = 0."""
    return record_op("abs", np.abs(x.data), (x,), absolute_vjp, {"x": x.data})


def absolute_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (g * np.sign(x),)


def tanh(x: Tensor) -> Tensor:
    """out = tanh x;  dL/dx = g (1 - out^2)."""
    out = np.tanh(x.data)
    return record_op("tanh", out, (x,), tanh_vjp, {"out": out})


def tanh_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    if type(g) is not np.ndarray:  # create_graph: Tensors (or a numpy scalar)
        return (g * (1 - out * out),)
    # NOTE: tanh' = 1 - tanh^2 built and scaled in one array: no temporaries on long sequences
    local = np.multiply(out, out, out=np.empty_like(out))
    np.subtract(1, local, out=local)
    local *= g
    return (local,)


def sigmoid(x: Tensor) -> Tensor:
    """out = 1 / (1 + e^-x) = (1 + tanh(x/2)) / 2 (no overflow);  dL/dx = g out (1 - out)."""
    out = 0.5 + 0.5 * np.tanh(0.5 * x.data)
    return record_op("sigmoid", out, (x,), sigmoid_vjp, {"out": out})


def sigmoid_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    if type(out) is not np.ndarray or isinstance(g, Tensor):  # create_graph: Tensors
        return (g * out * (1 - out),)
    # NOTE: sigmoid' = out (1 - out) built and scaled in one array: no temporaries
    local = 1 - out
    local *= out
    local *= g
    return (local,)


def relu(x: Tensor) -> Tensor:
    """out = max(x, 0);  dL/dx = g [x > 0], with relu'(0) = 0."""
    return record_op("relu", np.maximum(x.data, 0), (x,), relu_vjp, {"x": x.data})


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
    return record_op("clip", np.clip(xd, lo, hi), (x,), clip_vjp, {"inside": inside})


def clip_vjp(g: np.ndarray, inside: np.ndarray) -> tuple:
    return (g * inside,)


def astype(x: Tensor, dtype: Any) -> Tensor:
    """out = x converted to ``dtype``;  dL/dx = g converted back."""
    out = x.data.astype(dtype)
    if out.dtype.kind not in "fc":  # an int/bool result is an index or mask: no gradient
        return Tensor(out)
    return record_op("astype", out, (x,), astype_vjp, {"source": x.data.dtype})


def astype_vjp(g: np.ndarray, source: np.dtype) -> tuple:
    return (g.astype(source),)


# ---- reductions -----------------------------------------------------------------------------
def _axes(name: str, axis: int | Sequence[int] | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for ax in axes:
        if not -max(ndim, 1) <= ax < max(ndim, 1):  # a 0-d array takes axis 0 or -1, as numpy
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
    if isinstance(g, Tensor):  # create_graph: a broadcast, whose own VJP sums back
        spread = np.broadcast_to(g.reshape(kept), shape)
        return spread if scale == 1.0 else spread * scale
    return np.multiply(g.reshape(kept), scale, out=np.empty(shape, dtype=g.dtype))


def sum_(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = sum of x over ``axis``;  dL/dx = g copied along the summed axes."""
    shape = x.data.shape
    axes = _axes("sum", axis, shape)
    out = np.add.reduce(x.data, axis=axes, keepdims=keepdims)
    return record_op("sum", out, (x,), sum_vjp, {"kept": _kept_shape(shape, axes), "shape": shape})


def sum_vjp(g: np.ndarray, kept: tuple, shape: tuple) -> tuple:
    return (_spread(g, kept, shape),)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = sum of x over ``axis`` / n;  dL/dx = g / n copied along the averaged axes."""
    shape = x.data.shape
    axes = _axes("mean", axis, shape)
    n = int(np.prod([shape[ax] for ax in axes]))
    out = np.mean(x.data, axis=axes, keepdims=keepdims)
    saved = {"kept": _kept_shape(shape, axes), "shape": shape, "n": n}
    return record_op("mean", out, (x,), mean_vjp, saved)


def mean_vjp(g: np.ndarray, kept: tuple, shape: tuple, n: int) -> tuple:
    return (_spread(g, kept, shape, 1.0 / n if n else 0.0),)  # n = 0: x is empty, so is dL/dx


def max_(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = max of x over ``axis``;  dL/dx = g at the maxima, split evenly between ties."""
    return _extreme("max", np.maximum, x, axis, keepdims)


def _extreme(op: str, ufunc: Any, x: Tensor, axis: Any, keepdims: bool) -> Tensor:
    """max or min (``ufunc`` np.maximum or np.minimum): g goes to the entries equal to the top."""
    axes = _axes(op, axis, x.shape)
    if x.size == 0:
        raise ValueError(f"{op}: the tensor is empty (shape {x.shape})")
    top = ufunc.reduce(x.data, axis=axes, keepdims=True)
    out = top if keepdims else top.reshape([n for i, n in enumerate(top.shape) if i not in axes])
    return record_op(op, out, (x,), max_vjp, {"x": x.data, "top": top, "axes": axes})


def max_vjp(g: np.ndarray, x: np.ndarray, top: np.ndarray, axes: tuple) -> tuple:
    winners = x == top
    ties = winners.sum(axis=axes, keepdims=True).astype(x.dtype)  # int counts would upcast g
    return (winners * (g.reshape(top.shape) / ties),)


# NOTE: imported last, on purpose: tensor.py's class body takes its methods from this module and
# from shape_ops, so both must be complete before it runs (minigrad/__init__ imports ops first).
from .tensor import Tensor  # noqa: E402
