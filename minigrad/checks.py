"""Checks for learners: finite-difference gradcheck and the full Jacobian.

Central differences: df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), error O(eps^2),
computed in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message names the worst entry."""


def _backward_rows(out: Tensor, inputs: Sequence[Tensor]) -> list[np.ndarray]:
    """Analytic Jacobians d out / d input, one (out.size, input.size) matrix per input."""
    rows = [np.zeros((out.size, x.size)) for x in inputs]
    if not out.requires_grad:
        return rows
    for i in range(out.size):
        for x in inputs:
            x.grad = None
        seed = np.zeros(out.size, dtype=out.dtype)
        seed[i] = 1
        out.backward(seed.reshape(out.shape), retain_graph=True)
        for row, x in zip(rows, inputs):
            if x.grad is not None:
                row[i] = x.grad.ravel()
    for x in inputs:
        x.grad = None
    return rows


def _numeric_rows(
    fn: Callable[..., Tensor], inputs: Sequence[Tensor], wrt: Sequence[int], eps: float
) -> list[np.ndarray]:
    # Recording stays on, so that fn may call register_hook or retain_grad; nothing is kept.
    rows = []
    for j in wrt:
        flat = inputs[j].data.reshape(-1)  # a view: perturbing it perturbs the input
        row = None
        for k in range(flat.size):
            saved = flat[k]
            flat[k] = saved + eps
            plus = np.array(fn(*inputs).data, dtype=np.float64).ravel()
            flat[k] = saved - eps
            minus = np.array(fn(*inputs).data, dtype=np.float64).ravel()
            flat[k] = saved
            if row is None:
                row = np.zeros((plus.size, flat.size))
            row[:, k] = (plus - minus) / (2 * eps)
        rows.append(row if row is not None else np.zeros((0, 0)))
    return rows


def _refuse_non_finite(kind: str, rows: list[np.ndarray], inputs: list[Tensor],
                       wrt: Sequence[int]) -> None:
    """A NaN or Inf in either Jacobian is a failure, never a pass."""
    for j, row in zip(wrt, rows):
        bad = ~np.isfinite(row)
        if bad.any():
            out_i, in_k = np.unravel_index(int(np.argmax(bad)), row.shape)
            index = tuple(int(i) for i in np.unravel_index(in_k, inputs[j].shape))
            raise GradcheckError(
                f"gradcheck: the {kind} gradient of input {j} at index {index} (output element "
                f"{int(out_i)}) is {row[out_i, in_k]}: not a finite number"
            )


def _float64_copy(x: Any) -> np.ndarray:
    """A copy of an input's data; float data in float64, int and bool (indices, masks) as is."""
    data = np.array(x.data if isinstance(x, Tensor) else Tensor(x).data)
    return data.astype(np.float64) if data.dtype.kind == "f" else data


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Compare backward() with central differences for every input that requires grad.

    ``fn(*inputs)`` returns a Tensor (any shape: every output element is checked). Float inputs
    are copied to float64; int and bool inputs (indices, targets, masks) are copied as they are.
    Passes when ``|analytic - numeric| <= atol + rtol |numeric|`` everywhere and both are finite;
    otherwise raises GradcheckError naming the input, the index, and both values of the worst
    entry. Returns True.
    """
    copies = [
        Tensor(_float64_copy(x),
               requires_grad=bool(getattr(x, "requires_grad", False)),
               name=getattr(x, "name", None))
        for x in inputs
    ]
    wrt = [j for j, x in enumerate(copies) if x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    out = fn(*copies)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    analytic = _backward_rows(out, [copies[j] for j in wrt])
    _refuse_non_finite("analytic", analytic, copies, wrt)
    numeric = _numeric_rows(fn, copies, wrt, eps)
    _refuse_non_finite("numeric", numeric, copies, wrt)
    worst = None
    for j, a, n in zip(wrt, analytic, numeric):
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        if excess.size and excess.max() > 0:
            flat = int(np.argmax(excess))
            if worst is None or excess.flat[flat] > worst[0]:
                worst = (excess.flat[flat], j, flat, a.flat[flat], n.flat[flat], a.shape)
    if worst is not None:
        _, j, flat, a_val, n_val, shape = worst
        out_i, in_k = np.unravel_index(flat, shape)
        index = np.unravel_index(in_k, copies[j].shape)
        label = f"input {j}" + (f" ('{copies[j].name}')" if copies[j].name else "")
        raise GradcheckError(
            f"gradcheck: {label} at index {tuple(int(i) for i in index)} (output element "
            f"{int(out_i)}): analytic {a_val:.10g} vs numeric {n_val:.10g} "
            f"(difference {abs(a_val - n_val):.3g}, allowed atol={atol} + rtol={rtol} * |numeric|)"
        )
    return True


def jacobian(fn: Callable[[Tensor], Tensor], x: Any, mode: str = "reverse") -> np.ndarray:
    """The full Jacobian d fn(x) / dx as an array of shape ``out.shape + x.shape``.

    ``mode="reverse"``: one backward pass per output element (a row each); ``"forward"``: one
    JVP per input element (a column each, ``minigrad.forward``). For small teaching examples.
    """
    source = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    if mode == "forward":
        from .forward import jacobian_forward

        return jacobian_forward(fn, np.array(source))
    xt = Tensor(np.array(source), requires_grad=True)
    out = fn(xt)
    if not isinstance(out, Tensor):
        raise TypeError(f"jacobian: fn must return a Tensor, got {type(out).__name__}")
    (rows,) = _backward_rows(out, [xt])
    return rows.reshape(out.shape + xt.shape)
