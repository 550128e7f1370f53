"""Functions of neural networks, with PyTorch's definitions and defaults.

softmax, log_softmax, cross_entropy and binary_cross_entropy are primitives (their VJPs beside
them); mse_loss and nll_loss are built from ops; relu, tanh and sigmoid are the Tensor methods.
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
    if isinstance(out, Tensor) or isinstance(g, Tensor):  # create_graph: Tensors, no in-place
        return (g - np.exp(out) * np.add.reduce(g, axis=axis, keepdims=True),)
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


def _class_targets(name: str, what: str, scores: Tensor, targets: Any,
                   reduction: str) -> np.ndarray:
    """Integer classes y (N,) for scores (N, C), checked: shapes, dtype, range, reduction."""
    y = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    shape = scores.data.shape  # NOTE: not the .shape property: this runs once per time step
    if len(shape) != 2 or y.shape != shape[:1]:
        raise ValueError(
            f"{name}: {what} must be (N, C) and targets (N,); got {shape} and {y.shape}"
        )
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name}: targets must be integer classes, got dtype {y.dtype}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    classes = shape[1]
    # NOTE: one max, not a min and a max: a negative class becomes huge as an unsigned number
    if y.size and np.maximum.reduce(y.astype(np.uint64)) >= classes:
        raise ValueError(f"{name}: targets must lie in 0..{classes - 1}, got {y.min()}..{y.max()}")
    return y


def cross_entropy(logits: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits z (N, C) with integer classes y (N,): -log softmax(z)_y per row.

    ``reduction`` "mean" (over rows, the default as in PyTorch), "sum" or "none". A primitive,
    as in PyTorch: one node whose VJP is the classic softmax(z) - onehot(y).
    """
    logits = lift(logits)
    y = _class_targets("cross_entropy", "logits", logits, targets, reduction)
    # -log softmax(z)_y = log sum_j e^(z_j - m) - (z_y - m), m = max_j z_j (no overflow)
    shifted = logits.data - np.maximum.reduce(logits.data, axis=1, keepdims=True)
    e = np.exp(shifted)
    total = np.add.reduce(e, axis=1)
    rows = np.arange(len(y))
    losses = np.log(total) - shifted[rows, y]
    out = losses if reduction == "none" else np.add.reduce(losses)
    if reduction == "mean":
        out = out / max(len(y), 1)
    saved = {"logits": logits.data, "e": e, "total": total, "rows": rows, "y": y,
             "reduction": reduction}
    return record_op("cross_entropy", out, (logits,), cross_entropy_vjp, saved)


def cross_entropy_vjp(g: np.ndarray, logits: np.ndarray, e: np.ndarray, total: np.ndarray,
                      rows: np.ndarray, y: np.ndarray, reduction: str) -> tuple:
    """dL_i/dz_i = softmax(z_i) - onehot(y_i): the probabilities minus 1 at the target class."""
    scale = g[:, None] if reduction == "none" else g / len(y) if reduction == "mean" else g
    if isinstance(logits, Tensor):  # create_graph: softmax(z) recomputed as a function of z
        return ((softmax(logits, axis=1) - one_hot(y, logits.shape[1], logits.dtype)) * scale,)
    # NOTE: in place into the one new array: this VJP runs at every step of a long sequence
    grad = e / total[:, None]  # softmax(z), from the forward's exponentials
    grad[rows, y] -= 1
    grad *= scale
    return (grad,)


def mse_loss(a: Tensor, b: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean of (a - b)^2 over all elements ("sum" or "none" on request)."""
    a = lift(a)
    b = lift(b, a)
    if a.shape != b.shape:
        raise ValueError(f"mse_loss: shapes {a.shape} and {b.shape} differ")
    return _reduce("mse_loss", (a - b) ** 2, reduction)


def nll_loss(log_probs: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) (e.g. from log_softmax) and integer
    classes (N,): -log_probs[i, y_i] per row, averaged over rows by default, as in PyTorch.

    Built from ops (a pick by index, whose VJP puts -g at each row's target class), so
    ``nll_loss(log_softmax(z), y)`` equals ``cross_entropy(z, y)``:
    ``F.nll_loss(mg.tensor([[-1.0, -2.0]]), [1])`` is ``2.0``.
    """
    log_probs = lift(log_probs)
    y = _class_targets("nll_loss", "log_probs", log_probs, targets, reduction)
    return _reduce("nll_loss", -log_probs[np.arange(len(y)), y], reduction)


BCE_LOG_FLOOR = -100.0  # PyTorch's clamp of log(p) and log(1 - p)
BCE_EPS = 1e-12  # PyTorch's floor of p (1 - p) in the gradient


def binary_cross_entropy(probs: Tensor, targets: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities p in [0, 1] with targets y in [0, 1], elementwise:
    l = -(y log p + (1 - y) log(1 - p)), averaged by default, as in PyTorch.

    As PyTorch does, each log is clamped at -100, so p = 0 or 1 gives a finite loss (at most
    100), and the gradient dl/dp = (p - y) / max(p (1 - p), 1e-12) stays finite; dl/dy =
    log(1 - p) - log p (clamped the same way). Give it probabilities (after a sigmoid), not logits:
    ``F.binary_cross_entropy(mg.tensor([0.5]), [1.0])`` is ``np.log(2)``.
    """
    probs = lift(probs)
    y = lift(targets, probs)
    if probs.shape != y.shape:
        raise ValueError(f"binary_cross_entropy: probs {probs.shape} and targets {y.shape} must "
                         f"have the same shape")
    if reduction not in REDUCTIONS:
        raise ValueError(f"binary_cross_entropy: reduction must be one of {REDUCTIONS}, "
                         f"got {reduction!r}")
    p = probs.data
    if p.size and not (p.min() >= 0 and p.max() <= 1):
        raise ValueError(f"binary_cross_entropy: probs must lie in [0, 1], got "
                         f"{p.min()}..{p.max()} (for logits, apply sigmoid first)")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), BCE_LOG_FLOOR)
        log_q = np.maximum(np.log1p(-p), BCE_LOG_FLOOR)
    losses = -(y.data * log_p + (1 - y.data) * log_q)
    out = losses if reduction == "none" else np.add.reduce(losses, axis=None)
    if reduction == "mean":
        out = out / max(losses.size, 1)
    saved = {"p": p, "y": y.data, "log_p": log_p, "log_q": log_q, "reduction": reduction,
             "needs_b": y.requires_grad}
    return record_op("binary_cross_entropy", out, (probs, y), binary_cross_entropy_vjp, saved)


def binary_cross_entropy_vjp(g: np.ndarray, p: np.ndarray, y: np.ndarray, log_p: np.ndarray,
                             log_q: np.ndarray, reduction: str, needs_b: bool) -> tuple:
    if isinstance(p, Tensor) and needs_b:  # create_graph: the clamped logs as functions of p
        log_p = np.maximum(np.log(p), BCE_LOG_FLOOR)
        log_q = np.maximum(np.log(1 - p), BCE_LOG_FLOOR)
    scale = g / max(p.size, 1) if reduction == "mean" else g  # "none": g is elementwise
    grad_p = scale * (p - y) / np.maximum(p * (1 - p), BCE_EPS)
    return grad_p, scale * (log_q - log_p) if needs_b else None


def relu(x: Any) -> Tensor:
    """max(x, 0), as ``x.relu()``: ``F.relu(Tensor([-1.0, 2.0]))`` is ``[0., 2.]``."""
    return lift(x).relu()


def tanh(x: Any) -> Tensor:
    """tanh x, as ``x.tanh()``: ``F.tanh(Tensor([0.0]))`` is ``[0.]``."""
    return lift(x).tanh()


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e^-x) without overflow, as ``x.sigmoid()``: ``F.sigmoid(Tensor([0.0]))`` is
    ``[0.5]``."""
    return lift(x).sigmoid()
