"""Functions of neural networks, with PyTorch's definitions and defaults.

softmax, log_softmax and cross_entropy are primitives (their VJPs beside them); mse_loss is
built from ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ops import lift, record_op
from .tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """z_i - m - log sum_j exp(z_j - m), m = max_j z_j: no overflow for logits of 1000."""
    shifted = z - np.maximum.reduce(z, axis=axis, keepdims=True)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """out_i = x_i - log sum_j exp(x_j), computed stably.

    A primitive: dL/dx = g - softmax(x) sum_j g_j  (softmax(x) = exp(out)).
    """
    x = lift(x)
    out = _log_softmax(x.data, axis)
    return record_op("log_softmax", out, (x,), log_softmax_vjp, {"out": out, "axis": axis})


def log_softmax_vjp(g: np.ndarray, out: np.ndarray, axis: int) -> tuple:
    grad = np.exp(out)  # softmax(x), then g - softmax(x) sum_j g_j computed in place
    grad *= -np.add.reduce(g, axis=axis, keepdims=True)
    grad += g
    return (grad,)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """out_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j.

    A primitive: dL/dx = out * (g - sum_j g_j out_j)  (the Jacobian diag(out) - out out^T).
    """
    x = lift(x)
    e = np.exp(x.data - np.maximum.reduce(x.data, axis=axis, keepdims=True))
    out = e / np.add.reduce(e, axis=axis, keepdims=True)
    return record_op("softmax", out, (x,), softmax_vjp, {"out": out, "axis": axis})


def softmax_vjp(g: np.ndarray, out: np.ndarray, axis: int) -> tuple:
    return (out * (g - np.add.reduce(g * out, axis=axis, keepdims=True)),)


def _reduce(name: str, per_item: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    if reduction == "none":
        return per_item
    raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def one_hot(targets: Any, classes: int, dtype: Any = np.float64) -> np.ndarray:
    """Rows of zeros with a 1 at each target class: shape targets.shape + (classes,)."""
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    return (targets[..., None] == np.arange(classes)).astype(dtype)


def cross_entropy(logits: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits z (N, C) with integer classes y (N,): -log softmax(z)_y per row.

    ``reduction`` "mean" (over rows, the default as in PyTorch), "sum" or "none". A primitive,
    as in PyTorch: one node whose VJP is the classic softmax(z) - onehot(y).
    """
    logits = lift(logits)
    y = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if logits.ndim != 2 or y.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy: logits must be (N, C) and targets (N,); got {logits.shape} "
            f"and {y.shape}"
        )
    if y.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer classes, got dtype {y.dtype}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    classes = logits.shape[1]
    if y.size and (np.minimum.reduce(y) < 0 or np.maximum.reduce(y) >= classes):
        raise ValueError(
            f"cross_entropy: targets must lie in 0..{classes - 1}, got {y.min()}..{y.max()}"
        )
    log_p = _log_softmax(logits.data, axis=1)
    rows = np.arange(len(y))
    losses = -log_p[rows, y]
    out = losses if reduction == "none" else np.add.reduce(losses)
    if reduction == "mean":
        out = out / max(len(y), 1)
    saved = {"log_p": log_p, "rows": rows, "y": y, "reduction": reduction}
    return record_op("cross_entropy", out, (logits,), cross_entropy_vjp, saved)


def cross_entropy_vjp(g: np.ndarray, log_p: np.ndarray, rows: np.ndarray, y: np.ndarray,
                      reduction: str) -> tuple:
    """dL_i/dz_i = softmax(z_i) - onehot(y_i): the probabilities minus 1 at the target class."""
    grad = np.exp(log_p)
    grad[rows, y] -= 1
    if reduction == "none":
        grad *= g[:, None]
    else:
        grad *= g / len(y) if reduction == "mean" else g
    return (grad,)


def mse_loss(a: Tensor, b: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean of (a - b)^2 over all elements ("sum" or "none" on request)."""
    a = lift(a)
    b = lift(b, a)
    if a.shape != b.shape:
        raise ValueError(f"mse_loss: shapes {a.shape} and {b.shape} differ")
    return _reduce("mse_loss", (a - b) ** 2, reduction)
