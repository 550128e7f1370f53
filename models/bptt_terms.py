"""The notes' BPTT closed form written out term by term, for small sizes (plain numpy).

Notation as in `models.bptt`. For each step's loss L_t and each k = 1..t this module forms the
k-th term of

    dL_t/dW = dL_t/dyhat_t dyhat_t/dh_t sum_{k=1..t} (prod_{i=k+1..t} dh_i/dh_{i-1}) dh_k/dW

literally: the Jacobians dh_i/dh_{i-1} = diag(f_h'(a_i)) W as explicit (H, H) matrices per batch
row, their product written newest first (i = t leftmost; the empty product for k = t is I), and
the direct derivative dh_k/dW through step k's own use of W alone (dh_k[j]/dW[p, q] =
f_h'(a_k)[j] [j = p] h_{k-1}[q]). The same for V (with x_k in place of h_{k-1}) and b_h.

Errata of the notes applied (DESIGN.md): (1) the second factor is dyhat_t/dh_t, not dyhat_t/dL_t;
(2) dL_t/dU = dL_t/dyhat_t dyhat_t/dU per step, and dL/dU is the sum over t = 1..T (no L_0);
(3) the sum over k starts at k = 1, since the k = 0 term (h_0 a constant) is zero.

Each term is also dL_t/dW_k for a copy W_k of W used at step k only, so summing the terms over
(t, k) gives what backprop on the unrolled graph gives, and what `models.bptt.bptt` computes.
Cost grows as T^3 B H^4: use this to read the notes, `bptt` to train.
"""

from __future__ import annotations

import numpy as np

from .bptt import HIDDEN, Grads, Params, Steps, prepare, run, softmax

# {"W" | "V" | "b_h": {(t, k): array}, "U" | "b_y" | "h0": {t: array}}
Terms = dict[str, dict]

RECURRENT = ("W", "V", "b_h")


def jacobian_product(jac: dict[int, np.ndarray], k: int, t: int) -> np.ndarray:
    """prod_{i=k+1..t} dh_i/dh_{i-1}, newest first: jac[t] @ jac[t-1] @ ... @ jac[k+1], per row.

    jac[i] has shape (B, H, H); for k = t the product is empty and equals the identity.
    """
    B, H, _ = jac[t].shape
    product = np.broadcast_to(np.eye(H, dtype=jac[t].dtype), (B, H, H))
    for i in range(t, k, -1):
        product = product @ jac[i]
    return product


def _output_factors(
    z: np.ndarray, yhat: np.ndarray, target: np.ndarray, f_y: str, loss: str
) -> tuple[np.ndarray, np.ndarray]:
    """dL_t/dyhat_t (B, O) and the per-row Jacobian dyhat_t/dz_t (B, O, O) of one step."""
    O = z.shape[1]
    eye = np.eye(O, dtype=z.dtype)
    if f_y == "identity":
        dyhat_dz = np.broadcast_to(eye, (z.shape[0], O, O))
    elif f_y == "sigmoid":
        dyhat_dz = np.einsum("bo,op->bop", yhat * (1 - yhat), eye)
    else:  # softmax: diag(yhat) - yhat yhat^T
        dyhat_dz = np.einsum("bo,op->bop", yhat, eye) - np.einsum("bo,bp->bop", yhat, yhat)
    if loss == "squared_error":  # L_t = sum (yhat_t - y_t)^2
        dL_dyhat = 2 * (yhat - target)
    elif f_y == "softmax":  # L_t = -log yhat_t[target]
        dL_dyhat = -eye[target] / yhat
    else:  # yhat_t = z_t are the logits: L_t = -log softmax(yhat_t)[target]
        dL_dyhat = softmax(yhat) - eye[target]
    return dL_dyhat, dyhat_dz


def bptt_terms(
    params: Params,
    xs: Steps,
    targets: Steps,
    h0: np.ndarray | None,
    f_h: str,
    f_y: str,
    loss: str,
    t: int | None = None,
) -> Terms:
    """Every term of the notes' closed form, for all steps (t=None) or for step t alone.

    Returns a dict (arrays in the inputs' floating dtype, summed over batch rows unless noted):

    - ``"W"``, ``"V"``, ``"b_h"``: ``{(t, k): array}`` for 1 <= k <= t, the k-th term
      dL_t/dyhat_t dyhat_t/dh_t (prod_{i=k+1..t} dh_i/dh_{i-1}) dh_k/dP in P's shape;
    - ``"U"``, ``"b_y"``: ``{t: array}``, dL_t/dU = dL_t/dyhat_t dyhat_t/dU (no BPTT);
    - ``"h0"``: ``{t: array (B, H)}``, dL_t/dh_0 = dL_t/dyhat_t dyhat_t/dh_t prod_{i=1..t}
      dh_i/dh_{i-1}, per batch row.

    With t given only the keys (t, k) and t appear. `sum_terms` adds them up to `bptt`'s totals.
    """
    inp = prepare(params, xs, targets, h0, f_h, f_y, loss, t)
    p = inp.params
    T = inp.xs.shape[0]
    steps = range(1, T + 1) if t is None else [t]
    last = max(steps)
    fw = run(p, inp.xs[:last], inp.h0, f_h, f_y)
    h = fw.h
    H = p["W"].shape[0]
    eye_h = np.eye(H, dtype=h.dtype)

    dfh = HIDDEN[f_h][1]
    fprime = {i: dfh(h[i]) for i in range(1, last + 1)}  # f_h'(a_i), (B, H)
    # dh_i/dh_{i-1} = diag(f_h'(a_i)) W, one (H, H) matrix per batch row: (B, H, H)
    jac = {i: fprime[i][:, :, None] * p["W"] for i in range(1, last + 1)}
    # dh_k/dP through step k's own use of P: (B, H, *P.shape), [b, j, ...] = d h_k[b, j] / dP[...]
    direct = {
        k: {
            "W": np.einsum("bj,jp,bq->bjpq", fprime[k], eye_h, h[k - 1]),
            "V": np.einsum("bj,jp,bq->bjpq", fprime[k], eye_h, inp.xs[k - 1]),
            "b_h": np.einsum("bj,jp->bjp", fprime[k], eye_h),
        }
        for k in range(1, last + 1)
    }

    terms: Terms = {name: {} for name in (*RECURRENT, "U", "b_y", "h0")}
    for s in steps:
        dL_dyhat, dyhat_dz = _output_factors(
            fw.z[s - 1], fw.yhat[s - 1], inp.targets[s - 1], f_y, loss
        )
        # dyhat_t/dU[b, o, p, q] = dyhat_t/dz_t[b, o, p] h_t[b, q]; dyhat_t/db_y = dyhat_t/dz_t
        terms["U"][s] = np.einsum("bo,bop,bq->pq", dL_dyhat, dyhat_dz, h[s])
        terms["b_y"][s] = np.einsum("bo,bop->p", dL_dyhat, dyhat_dz)
        dyhat_dh = dyhat_dz @ p["U"]  # dz_t/dh_t = U: (B, O, H)
        dL_dh = np.einsum("bo,boh->bh", dL_dyhat, dyhat_dh)  # dL_t/dyhat_t dyhat_t/dh_t
        for k in range(1, s + 1):
            # dL_t/dh_k along the chain: row vector times prod_{i=k+1..t} dh_i/dh_{i-1}
            dL_dhk = np.einsum("bi,bij->bj", dL_dh, jacobian_product(jac, k, s))
            for name in RECURRENT:
                terms[name][(s, k)] = np.einsum("bj,bj...->...", dL_dhk, direct[k][name])
        terms["h0"][s] = np.einsum("bi,bij->bj", dL_dh, jacobian_product(jac, 0, s))
    return terms


def sum_terms(terms: Terms) -> Grads:
    """Totals of a `bptt_terms` result: the sums over all (t, k) (W, V, b_h) and over all t (U,
    b_y, h0), with the same keys and shapes as `models.bptt.bptt` returns."""
    return {name: np.sum(np.stack(list(parts.values())), axis=0) for name, parts in terms.items()}
