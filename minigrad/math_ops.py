"""More primitive math: sin, cos, sign, log1p, expm1, maximum, minimum and reductions
(min, argmax, argmin, prod, cumsum, var, std, logsumexp).

The same contract as ``minigrad.ops``: each forward beside its VJP ``vjp(g, **saved)``; numpy
broadcasting is undone by the engine, not here. Kinks: ``min`` splits ties evenly, as ``max``;
``maximum``/``minimum`` split ``g`` evenly between ``a`` and ``b`` where they are equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .ops import _axes, _binary, _extreme, _kept_shape, record_op

if TYPE_CHECKING:
    from .tensor import Tensor


# ---- elementwise ----------------------------------------------------------------------------
def sin(x: Tensor) -> Tensor:
    """out = sin x;  dL/dx = g cos x.  ``Tensor([0.0]).sin()`` is ``[0.]``."""
    return record_op("sin", np.sin(x.data), (x,), sin_vjp, {"x": x.data})


def sin_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (g * np.cos(x),)


def cos(x: Tensor) -> Tensor:
    """out = cos x;  dL/dx = -g sin x.  ``Tensor([0.0]).cos()`` is ``[1.]``."""
    return record_op("cos", np.cos(x.data), (x,), cos_vjp, {"x": x.data})


def cos_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (-g * np.sin(x),)


def sign(x: Tensor) -> Tensor:
    """out = sign x (-1, 0 or 1);  dL/dx = 0 (flat almost everywhere; 0 also at the jump, as in
    PyTorch).  ``Tensor([-2.0, 0.0, 3.0]).sign()`` is ``[-1., 0., 1.]``."""
    return record_op("sign", np.sign(x.data), (x,), sign_vjp)


def sign_vjp(g: np.ndarray) -> tuple:
    return (np.zeros_like(g),)


def log1p(x: Tensor) -> Tensor:
    """out = ln(1 + x), accurate for tiny x;  dL/dx = g / (1 + x).
    ``Tensor([0.0]).log1p()`` is ``[0.]``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log1p(x.data)
    return record_op("log1p", out, (x,), log1p_vjp, {"x": x.data})


def log1p_vjp(g: np.ndarray, x: np.ndarray) -> tuple:
    return (g / (1 + x),)


def expm1(x: Tensor) -> Tensor:
    """out = e^x - 1, accurate for tiny x;  dL/dx = g (out + 1) = g e^x.
    ``Tensor([0.0]).expm1()`` is ``[0.]``."""
    out = np.expm1(x.data)
    return record_op("expm1", out, (x,), expm1_vjp, {"out": out})


def expm1_vjp(g: np.ndarray, out: np.ndarray) -> tuple:
    return (g * (out + 1),)


def maximum(a: Any, b: Any) -> Tensor:
    """out = max(a, b) elementwise, broadcasting;  dL/da = g where a > b, dL/db = g where b > a,
    and g / 2 to each where a = b.  ``mg.maximum(Tensor([1.0, 5.0]), 3.0)`` is ``[3., 5.]``."""
    a, b, out = _binary("maximum", np.maximum, a, b)
    return record_op("maximum", out, (a, b), pick_vjp, {"a": a.data, "b": b.data})


def minimum(a: Any, b: Any) -> Tensor:
    """out = min(a, b) elementwise, broadcasting;  dL/da = g where a < b, dL/db = g where b < a,
    and g / 2 to each where a = b.  ``mg.minimum(Tensor([1.0, 5.0]), 3.0)`` is ``[1., 3.]``."""
    a, b, out = _binary("minimum", np.minimum, a, b)
    # min(a, b) = max(b, a): the same VJP with the operands swapped
    return record_op("minimum", out, (a, b), pick_vjp, {"a": b.data, "b": a.data})


def pick_vjp(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
    """For maximum (and minimum, with a and b swapped): the larger side gets g, a tie half each."""
    share = (a > b) + 0.5 * (a == b)
    return g * share.astype(g.dtype, copy=False), g * (1 - share).astype(g.dtype, copy=False)


# ---- reductions -----------------------------------------------------------------------------
def min_(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = min of x over ``axis``;  dL/dx = g at the minima, split evenly between ties (as
    ``max``).  ``Tensor([[1.0, -2.0]]).min(axis=1)`` is ``[-2.]``."""
    return _extreme("min", np.minimum, x, axis, keepdims)  # max's VJP: g goes to the minima


def _arg(name: str, fn: Any, x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
    if x.size == 0:
        raise ValueError(f"{name}: the tensor is empty (shape {x.shape})")
    if axis is not None:
        _axes(name, axis, x.shape)  # the same range check and message as the reductions
    return type(x)(fn(x.data, axis=axis, keepdims=keepdims))  # type(x): Tensor, a plain leaf


def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest entry over ``axis`` (of the flattened tensor when None), an int64
    Tensor with no gradient; the first one wins a tie.
    ``Tensor([1.0, 3.0, 2.0]).argmax()`` is ``1``.
    """
    return _arg("argmax", np.argmax, x, axis, keepdims)


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest entry over ``axis`` (flattened when None), an int64 Tensor with no
    gradient; the first one wins a tie.  ``Tensor([1.0, 3.0, 0.5]).argmin()`` is ``2``."""
    return _arg("argmin", np.argmin, x, axis, keepdims)


def prod(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = product of x over ``axis``;  dL/dx_i = g prod_{j != i} x_j (the product of the
    others, computed without dividing, so zeros are fine).
    ``Tensor([2.0, 3.0]).prod()`` is ``6.0``."""
    axes = _axes("prod", axis, x.shape)
    out = np.multiply.reduce(x.data, axis=axes, keepdims=keepdims)
    saved = {"x": x.data, "axes": axes, "kept": _kept_shape(x.shape, axes)}
    return record_op("prod", out, (x,), prod_vjp, saved)


def prod_vjp(g: np.ndarray, x: np.ndarray, axes: tuple, kept: tuple) -> tuple:
    # The reduced axes last, flattened into one: the product of the others is (product of
    # those before) * (product of those after), two cumulative products.
    kept_axes = x.ndim - len(axes)
    last = tuple(range(kept_axes, x.ndim))
    moved = np.moveaxis(x, axes, last)
    rows = moved.reshape(moved.shape[:kept_axes] + (int(np.prod(moved.shape[kept_axes:])),))
    if not isinstance(rows, np.ndarray):  # create_graph: row i of a matrix is x with x_i = 1
        n = rows.shape[-1]
        everyone = np.where(np.eye(n, dtype=bool), 1.0, rows[..., None, :])
        return (g.reshape(kept) * np.moveaxis(
            np.multiply.reduce(everyone, axis=-1).reshape(moved.shape), last, axes),)
    ones = np.ones_like(rows[..., :1])
    before = np.cumprod(np.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = np.moveaxis((before * after)[..., : rows.shape[-1]].reshape(moved.shape), last, axes)
    return (g.reshape(kept) * others,)


def cumsum(x: Tensor, axis: int | None = None) -> Tensor:
    """out_i = sum_{j <= i} x_j along ``axis`` (of the flattened tensor when None, as numpy);
    dL/dx_j = sum_{i >= j} g_i, a cumulative sum of g backwards.
    ``Tensor([1.0, 2.0, 3.0]).cumsum()`` is ``[1., 3., 6.]``."""
    if axis is not None:
        (axis,) = _axes("cumsum", axis, x.shape) or (0,)
    out = np.cumsum(x.data, axis=axis)
    return record_op("cumsum", out, (x,), cumsum_vjp, {"axis": axis, "shape": x.shape})


def cumsum_vjp(g: np.ndarray, axis: int | None, shape: tuple) -> tuple:
    along = 0 if axis is None else axis
    return (np.flip(np.cumsum(np.flip(g, along), axis=along), along).reshape(shape),)


def _moments(name: str, x: Tensor, axis: Any, ddof: int) -> tuple:
    """The centred values x - mean, the divisor n - ddof and the kept shape, for var and std."""
    axes = _axes(name, axis, x.shape)
    n = int(np.prod([x.shape[ax] for ax in axes]))
    if n - ddof <= 0:
        raise ValueError(f"{name}: ddof={ddof} leaves no degrees of freedom for {n} values "
                         f"(shape {x.shape}, axis {axis})")
    centred = x.data - np.mean(x.data, axis=axes, keepdims=True)
    return axes, centred, n - ddof


def _centred(x: np.ndarray, axes: tuple) -> np.ndarray:
    """x - mean(x) over ``axes``, recomputed in the VJP so that create_graph sees it depend on x."""
    return x - np.mean(x, axis=axes, keepdims=True)


def var(x: Tensor, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """out = sum (x - mean)^2 / (n - ddof) over ``axis`` (numpy's ddof=0 by default; PyTorch's
    default is ddof=1);  dL/dx = g 2 (x - mean) / (n - ddof).
    ``Tensor([1.0, 3.0]).var()`` is ``1.0``, ``Tensor([1.0, 3.0]).var(ddof=1)`` is ``2.0``."""
    axes, centred, dof = _moments("var", x, axis, ddof)
    out = np.add.reduce(centred * centred, axis=axes, keepdims=keepdims) / dof
    saved = {"x": x.data, "axes": axes, "dof": dof, "kept": _kept_shape(x.shape, axes)}
    return record_op("var", out, (x,), var_vjp, saved)


def var_vjp(g: np.ndarray, x: np.ndarray, axes: tuple, dof: int, kept: tuple) -> tuple:
    # The mean's own dependence on x drops out: its gradient is multiplied by sum(x - mean) = 0.
    return (g.reshape(kept) * _centred(x, axes) * (2 / dof),)


def std(x: Tensor, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """out = sqrt(var(x, axis, ddof));  dL/dx = g (x - mean) / ((n - ddof) out), which is 0 / 0
    = NaN where all values are equal (out = 0), as in PyTorch.  ``Tensor([1.0, 3.0]).std()`` is
    ``1.0``."""
    axes, centred, dof = _moments("std", x, axis, ddof)
    out = np.sqrt(np.add.reduce(centred * centred, axis=axes, keepdims=True) / dof)
    kept = out.shape
    shown = out if keepdims else out.reshape([n for i, n in enumerate(kept) if i not in axes])
    saved = {"x": x.data, "axes": axes, "dof": dof, "out": shown, "kept": kept}
    return record_op("std", shown, (x,), std_vjp, saved)


def std_vjp(g: np.ndarray, x: np.ndarray, axes: tuple, dof: int, out: np.ndarray,
            kept: tuple) -> tuple:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (g.reshape(kept) * _centred(x, axes) / (dof * out.reshape(kept)),)


def logsumexp(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """out = log sum exp(x) over ``axis``, computed as m + log sum exp(x - m) with m = max x (no
    overflow);  dL/dx = g softmax(x) = g exp(x - out).
    ``Tensor([0.0, 0.0]).logsumexp()`` is ``np.log(2)``."""
    axes = _axes("logsumexp", axis, x.shape)
    top = np.maximum.reduce(x.data, axis=axes, keepdims=True) if x.size else np.zeros(())
    top = np.where(np.isfinite(top), top, 0)  # all -inf: log 0 = -inf, not -inf - -inf = nan
    with np.errstate(divide="ignore"):
        out = top + np.log(np.add.reduce(np.exp(x.data - top), axis=axes, keepdims=True))
    kept = out.shape
    shown = out if keepdims else out.reshape([n for i, n in enumerate(kept) if i not in axes])
    saved = {"x": x.data, "out": shown, "kept": kept}
    return record_op("logsumexp", shown, (x,), logsumexp_vjp, saved)


def logsumexp_vjp(g: np.ndarray, x: np.ndarray, out: np.ndarray, kept: tuple) -> tuple:
    return (g.reshape(kept) * np.exp(x - out.reshape(kept)),)
