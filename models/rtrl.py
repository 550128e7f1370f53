"""Real-time recurrent learning (RTRL): the notes' gradient accumulated forward in time, in numpy.

The notes' sum, for a parameter theta in {W, V, b_h} (and h_0), names its inner sum P_t:

    (1) dL_t/dtheta = dL_t/dh_t P_t,  P_t = sum_{k=1..t} (prod_{i=k+1..t} dh_i/dh_{i-1}) dh_k/dtheta
    (2) k = t is dh_t/dtheta alone; every other term starts with dh_t/dh_{t-1} times P_{t-1}'s term
    (3) P_t = dh_t/dtheta + dh_t/dh_{t-1} P_{t-1} = diag(f_h'(a_t)) (da_t/dtheta + W P_{t-1})

So P_t = dh_t/dtheta (the sensitivity) is carried along with h_t, and dL/dtheta = sum_t dL_t/dh_t
P_t is added up as the steps run: nothing of the past is stored, but P_t for W is (H x H^2) per
batch row and each step multiplies it by W: time H^4 per step against BPTT's H^2, memory constant
in T against BPTT's T H. ``models.bptt.bptt`` sums the same terms backward in time.
"""

from __future__ import annotations

import numpy as np

from .bptt import HIDDEN, Grads, Params, Steps, output_grad, prepare, run


def rtrl(params: Params, xs: Steps, targets: Steps, h0: np.ndarray | None, f_h: str, f_y: str,
         loss: str, t: int | None = None) -> Grads:
    """Gradients of L = sum_t L_t (or of L_t alone with t = k) by RTRL, forward in time.

    Same signature and result as ``models.bptt.bptt``: {"U", "V", "W", "b_h", "b_y", "h0"}. Each
    step computes h_t, then P_t = diag(f_h'(a_t)) (da_t/dtheta + W P_{t-1}) for W, V, b_h and h_0,
    then adds dL_t/dh_t P_t; the step's activations are then forgotten.
    """
    inp = prepare(params, xs, targets, h0, f_h, f_y, loss, t)
    p, xs_arr, h_prev = inp.params, inp.xs, inp.h0
    first, last = (1, xs_arr.shape[0]) if t is None else (t, t)
    B, H = h_prev.shape
    W, U, dfh = p["W"], p["U"], HIDDEN[f_h][1]
    eye = np.eye(H, dtype=W.dtype)
    # P[b, i, ...] = dh_t[b, i] / dtheta[...]; h_0 is given, so P_0 is 0 (and I for h_0 itself)
    P = {"W": np.zeros((B, H, H, H), W.dtype), "V": np.zeros((B, H) + p["V"].shape, W.dtype),
         "b_h": np.zeros((B, H, H), W.dtype), "h0": np.broadcast_to(eye, (B, H, H))}
    grads = {name: np.zeros(P[name].shape[2:], W.dtype) for name in ("W", "V", "b_h")}
    grads |= {"h0": np.zeros((B, H), W.dtype), "U": np.zeros_like(U),
              "b_y": np.zeros_like(p["b_y"])}
    diagonal = np.arange(H)
    for step in range(1, last + 1):
        fw = run(p, xs_arr[step - 1 : step], h_prev, f_h, f_y)  # one step: a_t, h_t, z_t, yhat_t
        h = fw.h[1]
        local = dfh(h)[:, :, None]  # f_h'(a_t), one column per row
        for name, own in (("W", h_prev), ("V", xs_arr[step - 1]), ("b_h", None), ("h0", None)):
            shape = P[name].shape  # W P_{t-1}: one (H x H) @ (H x rest) product per batch row
            carried = (W @ P[name].reshape(B, H, -1)).reshape(shape)
            if own is not None:  # da_t[i]/dtheta[i, k] = own[k] (W h_{t-1}, V x_t)
                carried[:, diagonal, diagonal, :] += own[:, None, :]
            elif name == "b_h":  # da_t/db_h = I
                carried += eye
            P[name] = local.reshape(local.shape + (1,) * (carried.ndim - 3)) * carried
        if step >= first:
            g_z = output_grad(fw.z, fw.yhat, inp.targets[step - 1 : step], f_y, loss)[0]
            g_h = g_z @ U  # dL_t/dh_t through yhat_t
            for name in ("W", "V", "b_h"):
                grads[name] += np.einsum("bi,bi...->...", g_h, P[name])
            grads["h0"] += np.einsum("bi,bij->bj", g_h, P["h0"])
            grads["U"] += g_z.T @ h
            grads["b_y"] += g_z.sum(axis=0)
        h_prev = h
    return grads
