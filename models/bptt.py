"""Closed-form backpropagation through time for the notes' RNN, in plain numpy (no minigrad).

Notation (DESIGN.md, "The notation of the notes"; steps t = 1..T, batches are rows):

    a_t    = x_t @ V.T + h_{t-1} @ W.T + b_h      (the notes' V x_t + W h_{t-1} + b_h, row by row)
    h_t    = f_h(a_t)                             (h_0: the given initial state, zeros if None)
    z_t    = h_t @ U.T + b_y
    yhat_t = f_y(z_t)

Shapes: V (H, D), W (H, H), U (O, H), b_h (H,), b_y (O,); x_t (B, D), h_t (B, H), yhat_t (B, O).
Losses are sums over batch rows and outputs (no means, no 1/2), and L = sum_{t=1..T} L_t:

    squared_error:  L_t = sum (yhat_t - y_t)^2
    cross_entropy:  L_t = -log softmax(z_t)[target]   (z_t are the logits; with f_y = "softmax"
                    this is -log yhat_t[target]: softmax is never applied twice)

The notes' closed form, with the errata of DESIGN.md applied ((1) the second factor is
dyhat_t/dh_t, (2) dL/dU is the sum over t = 1..T of dL_t/dU = dL_t/dyhat_t dyhat_t/dU,
(3) the sum over k starts at k = 1 because h_0 is a constant):

    dL_t/dW = dL_t/dyhat_t dyhat_t/dh_t sum_{k=1..t} (prod_{i=k+1..t} dh_i/dh_{i-1}) dh_k/dW
    dh_i/dh_{i-1} = diag(f_h'(a_i)) W                 (one Jacobian per batch row)

and the same with V or b_h in place of W; dL_t/dh_0 is the whole chain prod_{i=1..t}.

`bptt` evaluates that sum right to left, for all t at once. It carries g_t = dL/dh_t back in time:

    delta_t = g_t * f_h'(a_t)                                   (dL/da_t)
    dL/dW += delta_t.T @ h_{t-1},  dL/dV += delta_t.T @ x_t,  dL/db_h += sum over rows of delta_t
    g_{t-1} = delta_t @ W  +  dL_{t-1}/dh_{t-1}                 (one step of the product)

Multiplying by W and by f_h'(a_t) applies dh_t/dh_{t-1} to a row vector, so no Jacobian is ever
formed. `models.bptt_terms.bptt_terms` forms them all, to read term by term against the notes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Integral
from typing import NamedTuple

import numpy as np

PARAM_NAMES = ("U", "V", "W", "b_h", "b_y")
LOSSES = ("squared_error", "cross_entropy")

Params = Mapping[str, np.ndarray]
Grads = dict[str, np.ndarray]
Steps = np.ndarray | Sequence[np.ndarray]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)), written with tanh so that no exp overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax over the last axis (the outputs of one row)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# f_h by name: (f_h, f_h' written in terms of the output h = f_h(a)). relu'(0) = 0.
HIDDEN: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (np.tanh, lambda h: 1 - h * h),
    "sigmoid": (_sigmoid, lambda h: h * (1 - h)),
    "relu": (lambda a: np.maximum(a, 0), lambda h: (h > 0).astype(h.dtype)),
    "identity": (lambda a: a, lambda h: np.ones_like(h)),
}
OUTPUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z,
    "sigmoid": _sigmoid,
    "softmax": softmax,
}


class Forward(NamedTuple):
    """The caches of one forward pass.

    ``h[t]`` is h_t for t = 0..T (``h[0]`` is h_0), shape (T + 1, B, H); ``a[t - 1]``,
    ``z[t - 1]`` and ``yhat[t - 1]`` are a_t, z_t and yhat_t for t = 1..T, shapes (T, B, H),
    (T, B, O), (T, B, O).
    """

    a: np.ndarray
    h: np.ndarray
    z: np.ndarray
    yhat: np.ndarray


class Inputs(NamedTuple):
    """Validated inputs, all floating arrays in one dtype (targets of cross-entropy stay int)."""

    params: dict[str, np.ndarray]
    xs: np.ndarray
    h0: np.ndarray
    targets: np.ndarray | None


# --- checking the inputs -------------------------------------------------------------------------


def _check_names(f_h: str, f_y: str, loss: str | None) -> None:
    if f_h not in HIDDEN:
        raise ValueError(f"f_h must be one of {sorted(HIDDEN)}; got {f_h!r}")
    if f_y not in OUTPUTS:
        raise ValueError(f"f_y must be one of {sorted(OUTPUTS)}; got {f_y!r}")
    if loss is None:
        return
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}; got {loss!r}")
    if loss == "cross_entropy" and f_y == "sigmoid":
        raise ValueError(
            "loss='cross_entropy' takes z_t as softmax logits, which f_y='sigmoid' does not "
            "produce; use f_y='identity' or f_y='softmax' with it"
        )


def _stack_steps(name: str, value: Steps) -> np.ndarray:
    """An array with the steps on axis 0, from an array or a list of per-step arrays."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{name} must hold at least one time step; got an empty sequence")
        steps = [np.asarray(v) for v in value]
        shapes = {s.shape for s in steps}
        if len(shapes) > 1:
            raise ValueError(f"the steps of {name} differ in shape: {[s.shape for s in steps]}")
        return np.stack(steps)
    return np.asarray(value)


def _expect_shape(name: str, arr: np.ndarray, shape: tuple[int, ...], meaning: str) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}; expected {meaning} = {shape}")


def check_step(t: int | None, T: int) -> None:
    """Raise ValueError unless t is None or a 1-based step in 1..T."""
    if t is None:
        return
    if isinstance(t, bool) or not isinstance(t, Integral) or not 1 <= t <= T:
        raise ValueError(f"t must be a time step in 1..T = 1..{T} (steps are 1-based); got {t!r}")


def prepare(
    params: Params,
    xs: Steps,
    targets: Steps | None,
    h0: np.ndarray | None,
    f_h: str,
    f_y: str,
    loss: str | None,
    t: int | None = None,
) -> Inputs:
    """Check names, shapes and t; convert everything to one floating dtype (float32 stays)."""
    _check_names(f_h, f_y, loss)
    missing = [n for n in PARAM_NAMES if n not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; it needs the keys {list(PARAM_NAMES)}")
    raw = {n: np.asarray(params[n]) for n in PARAM_NAMES}
    xs_arr = _stack_steps("xs", xs)
    h0_arr = None if h0 is None else np.asarray(h0)
    dtype = np.result_type(*raw.values(), xs_arr, *([] if h0_arr is None else [h0_arr]))
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    p = {n: v.astype(dtype, copy=False) for n, v in raw.items()}

    V, U = p["V"], p["U"]
    if V.ndim != 2:
        raise ValueError(f"V must be 2-D, (H, D); got shape {V.shape}")
    if U.ndim != 2:
        raise ValueError(f"U must be 2-D, (O, H); got shape {U.shape}")
    (H, D), O = V.shape, U.shape[0]
    _expect_shape("W", p["W"], (H, H), f"(H, H) with H = {H} from V {V.shape}")
    _expect_shape("U", U, (O, H), f"(O, H) with H = {H} from V {V.shape}")
    _expect_shape("b_h", p["b_h"], (H,), f"(H,) with H = {H} from V {V.shape}")
    _expect_shape("b_y", p["b_y"], (O,), f"(O,) with O = {O} from U {U.shape}")
    if xs_arr.ndim != 3 or xs_arr.shape[0] == 0:
        raise ValueError(
            f"xs must be (T, B, D) with T >= 1, or a list of T arrays (B, D); got {xs_arr.shape}"
        )
    T, B = xs_arr.shape[:2]
    _expect_shape("xs", xs_arr, (T, B, D), f"(T, B, D) with D = {D} from V {V.shape}")
    xs_arr = xs_arr.astype(dtype, copy=False)
    if h0_arr is None:
        h0_arr = np.zeros((B, H), dtype=dtype)
    _expect_shape("h0", h0_arr, (B, H), f"(B, H) with B = {B} from xs, H = {H} from V")
    h0_arr = h0_arr.astype(dtype, copy=False)
    check_step(t, T)

    y = None if loss is None else _check_targets(targets, loss, T, B, O, dtype)
    return Inputs(p, xs_arr, h0_arr, y)


def _check_targets(
    targets: Steps | None, loss: str, T: int, B: int, O: int, dtype: np.dtype
) -> np.ndarray:
    if targets is None:
        raise ValueError(f"loss={loss!r} needs targets")
    y = _stack_steps("targets", targets)
    if loss == "squared_error":
        _expect_shape("targets", y, (T, B, O), "(T, B, O) for squared_error")
        return y.astype(dtype, copy=False)
    _expect_shape("targets", y, (T, B), "(T, B) class indices for cross_entropy")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"cross_entropy targets must be integer class indices; got {y.dtype}")
    if y.min() < 0 or y.max() >= O:
        raise ValueError(f"cross_entropy targets must lie in 0..O-1 = 0..{O - 1}")
    return y


# --- forward, loss and the output layer ----------------------------------------------------------


def run(p: Mapping[str, np.ndarray], xs: np.ndarray, h0: np.ndarray, f_h: str, f_y: str) -> Forward:
    """The forward pass on validated arrays (see `forward`)."""
    T, B, D = xs.shape
    H = p["W"].shape[0]
    act = HIDDEN[f_h][0]
    a = (xs.reshape(T * B, D) @ p["V"].T).reshape(T, B, H)  # V x_t of every step in one product
    a += p["b_h"]
    h = np.empty((T + 1, B, H), dtype=a.dtype)
    h[0] = h0
    W_T = p["W"].T
    for t in range(1, T + 1):
        a[t - 1] += h[t - 1] @ W_T
        h[t] = act(a[t - 1])
    z = h[1:] @ p["U"].T + p["b_y"]
    return Forward(a, h, z, OUTPUTS[f_y](z))


def forward(params: Params, xs: Steps, h0: np.ndarray | None, f_h: str, f_y: str) -> Forward:
    """Run the RNN: a_t = x_t @ V.T + h_{t-1} @ W.T + b_h, h_t = f_h(a_t), z_t = h_t @ U.T + b_y,
    yhat_t = f_y(z_t) for t = 1..T. Returns the caches as a `Forward` (indexing in its docstring).
    """
    inp = prepare(params, xs, None, h0, f_h, f_y, None)
    return run(inp.params, inp.xs, inp.h0, f_h, f_y)


def step_losses(z: np.ndarray, yhat: np.ndarray, targets: np.ndarray, loss: str) -> np.ndarray:
    """L_t for each step given, summed over rows: shape (number of steps,)."""
    if loss == "squared_error":
        return ((yhat - targets) ** 2).sum(axis=(1, 2))
    top = z.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(z - top).sum(axis=-1)) + top[..., 0]  # log sum_o exp z_t[o]
    picked = np.take_along_axis(z, targets[..., None], axis=-1)[..., 0]
    return (log_norm - picked).sum(axis=1)


def loss_value(
    params: Params,
    xs: Steps,
    targets: Steps,
    h0: np.ndarray | None,
    f_h: str,
    f_y: str,
    loss: str,
    t: int | None = None,
) -> float:
    """L = sum_{t=1..T} L_t, or L_t of step t alone (only steps 1..t are run)."""
    inp = prepare(params, xs, targets, h0, f_h, f_y, loss, t)
    last = inp.xs.shape[0] if t is None else t
    fw = run(inp.params, inp.xs[:last], inp.h0, f_h, f_y)
    per_step = step_losses(fw.z, fw.yhat, inp.targets[:last], loss)
    return float(per_step.sum() if t is None else per_step[-1])


def output_grad(
    z: np.ndarray, yhat: np.ndarray, targets: np.ndarray, f_y: str, loss: str
) -> np.ndarray:
    """dL_t/dz_t = dL_t/dyhat_t dyhat_t/dz_t for each step given, shape (steps, B, O)."""
    if loss == "cross_entropy":  # d(-log softmax(z)[c])/dz = softmax(z) - onehot(c)
        g = yhat.copy() if f_y == "softmax" else softmax(z)
        steps, B = targets.shape
        g[np.arange(steps)[:, None], np.arange(B), targets] -= 1
        return g
    g = 2 * (yhat - targets)  # dL_t/dyhat_t
    if f_y == "sigmoid":
        g *= yhat * (1 - yhat)
    elif f_y == "softmax":  # (diag(yhat) - yhat yhat^T) applied to g, row by row
        g = yhat * (g - (g * yhat).sum(axis=-1, keepdims=True))
    return g


# --- backward in time ----------------------------------------------------------------------------


def _backward(
    p: Mapping[str, np.ndarray],
    xs: np.ndarray,
    h: np.ndarray,
    g_z: np.ndarray,
    first: int,
    f_h: str,
    chunk: int | None = None,
) -> Grads:
    """Gradients of the losses of steps first..T, T = len(xs); g_z[t - first] = dL_t/dz_t.

    With chunk, the carried dL/dh is dropped at each chunk start t > 1 (the state is detached).
    """
    T, B, _ = xs.shape
    W = p["W"]
    O, H = p["U"].shape
    # U and b_y need no BPTT: dL/dU = sum_t dL_t/dz_t^T h_t, one product over all steps and rows.
    grads: Grads = {
        "U": g_z.reshape(-1, O).T @ h[first:].reshape(-1, H),
        "b_y": g_z.sum(axis=(0, 1)),
    }
    dh_out = g_z @ p["U"]  # dL_t/dh_t through yhat_t alone, all steps in one product
    dfh = HIDDEN[f_h][1]
    dW, dV, db_h = np.zeros_like(W), np.zeros_like(p["V"]), np.zeros_like(p["b_h"])
    g_h = np.zeros((B, H), dtype=W.dtype)  # dL/dh_t, complete once step t's own loss is added
    for t in range(T, 0, -1):
        if t >= first:
            g_h += dh_out[t - first]
        delta = g_h if f_h == "identity" else g_h * dfh(h[t])  # dL/da_t
        dW += delta.T @ h[t - 1]
        dV += delta.T @ xs[t - 1]
        db_h += delta.sum(axis=0)
        if chunk is not None and t > 1 and (t - 1) % chunk == 0:
            g_h = np.zeros((B, H), dtype=W.dtype)  # h_{t-1} enters a chunk as a constant
        else:
            g_h = delta @ W  # dL/dh_{t-1} = dL/da_t da_t/dh_{t-1}
    grads.update(V=dV, W=dW, b_h=db_h, h0=g_h)
    return grads


def bptt(
    params: Params,
    xs: Steps,
    targets: Steps,
    h0: np.ndarray | None,
    f_h: str,
    f_y: str,
    loss: str,
    t: int | None = None,
) -> Grads:
    """Gradients of L = sum_t L_t (t=None) or of L_t alone (t = k), by the backward recursion.

    Evaluates dL_t/dW = dL_t/dyhat_t dyhat_t/dh_t sum_{k=1..t} (prod_{i=k+1..t} dh_i/dh_{i-1})
    dh_k/dW (with DESIGN.md's errata: dyhat_t/dh_t, per-step dL_t/dU summed over t = 1..T, k from 1)
    for W, V and b_h at once, carrying dL/dh_t from t = T down to 1; dL/dh_0 is the whole chain.
    Returns {"U", "V", "W", "b_h", "b_y"} in the parameters' shapes and "h0" (B, H), in the
    inputs' floating dtype (float32 stays float32).
    """
    inp = prepare(params, xs, targets, h0, f_h, f_y, loss, t)
    first, last = (1, inp.xs.shape[0]) if t is None else (t, t)
    fw = run(inp.params, inp.xs[:last], inp.h0, f_h, f_y)
    g_z = output_grad(
        fw.z[first - 1 :], fw.yhat[first - 1 :], inp.targets[first - 1 : last], f_y, loss
    )
    return _backward(inp.params, inp.xs[:last], fw.h, g_z, first, f_h)


def bptt_truncated(
    params: Params,
    xs: Steps,
    targets: Steps,
    h0: np.ndarray | None,
    f_h: str,
    f_y: str,
    loss: str,
    chunk: int,
) -> Grads:
    """Truncated BPTT: the state is detached at each chunk start t = 1, chunk + 1, 2 chunk + 1, ...

    Each L_t then sums the closed form's k from its own chunk's start s to t (not a fixed number of
    steps back): dL_t/dW = dL_t/dyhat_t dyhat_t/dh_t sum_{k=s..t} (prod_{i=k+1..t} dh_i/dh_{i-1})
    dh_k/dW. Returns the sum over all chunks (same keys as `bptt`); "h0" is the gradient with
    respect to the first chunk's initial state, from chunk 1's losses.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, Integral) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1 (steps per chunk); got {chunk!r}")
    inp = prepare(params, xs, targets, h0, f_h, f_y, loss)
    fw = run(inp.params, inp.xs, inp.h0, f_h, f_y)
    g_z = output_grad(fw.z, fw.yhat, inp.targets, f_y, loss)
    return _backward(inp.params, inp.xs, fw.h, g_z, 1, f_h, chunk)
