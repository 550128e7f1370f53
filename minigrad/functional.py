"""Functions built from primitive ops, with PyTorch's definitions and defaults."""

from __future__ import annotations

from typing import Any

import numpy as np

from .ops import lift
from .tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x)_i = x_i - m - log sum_j exp(x_j - m), with m = max_j x_j a constant.

    Shifting by m changes nothing mathematically and keeps exp from overflowing (logits of 1000).
    """
    x = lift(x)
    shifted = x - x.data.max(axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j."""
    x = lift(x)
    e = (x - x.data.max(axis=axis, keepdims=True)).exp()
    return e / e.sum(axis=axis, keepdims=True)


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

    ``reduction`` "mean" (over rows, the default as in PyTorch), "sum" or "none".
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
    classes = logits.shape[1]
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"cross_entropy: targets must lie in 0..{classes - 1}, got {y.min()}..{y.max()}")
    picked = (log_softmax(logits, axis=1) * one_hot(y, classes, logits.dtype)).sum(axis=1)
    return _reduce("cross_entropy", -picked, reduction)


def mse_loss(a: Tensor, b: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean of (a - b)^2 over all elements ("sum" or "none" on request)."""
    a = lift(a)
    b = lift(b, a)
    if a.shape != b.shape:
        raise ValueError(f"mse_loss: shapes {a.shape} and {b.shape} differ")
    return _reduce("mse_loss", (a - b) ** 2, reduction)
