"""The closed-form BPTT of models/bptt.py against central finite differences in plain numpy.

The reference loss below is written independently of the module (einsum per step, its own
activations and losses), in float64. Gradients are compared norm-wise per parameter:
||g - g_ref|| / max(||g_ref||, 1e-300) < 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.bptt import bptt, bptt_truncated, forward, loss_value
from models.bptt_terms import bptt_terms, sum_terms

PARAMS = ("U", "V", "W", "b_h", "b_y")
KEYS = (*PARAMS, "h0")
F_H = ("tanh", "sigmoid", "relu", "identity")
OUT_LOSS = [
    (f_y, loss) for f_y in ("identity", "softmax") for loss in ("squared_error", "cross_entropy")
]
EPS = 1e-4
TOL = 1e-6


# --- an independent reference: forward, loss, finite differences ---------------------------------

ACT = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "relu": lambda a: np.where(a > 0, a, 0.0),
    "identity": lambda a: a,
}


def ref_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ref_step_loss(z, target, f_y, loss):
    if loss == "cross_entropy":
        log_p = z - z.max(axis=1, keepdims=True)
        log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        return -sum(log_p[row, c] for row, c in enumerate(target))
    yhat = {"identity": z, "sigmoid": 1.0 / (1.0 + np.exp(-z)), "softmax": ref_softmax(z)}[f_y]
    return np.sum((yhat - target) ** 2)


def ref_states(p, xs, h0, f_h, weights_at=None):
    """[h_0, h_1, ..., h_T]; weights_at(k) may give step k its own copy of W, V, b_h."""
    hs = [h0]
    for k in range(1, len(xs) + 1):
        w = weights_at(k) if weights_at else p
        a = np.einsum("hd,bd->bh", w["V"], xs[k - 1]) + np.einsum("hj,bj->bh", w["W"], hs[-1])
        hs.append(ACT[f_h](a + w["b_h"]))
    return hs


def ref_loss(p, xs, targets, h0, f_h, f_y, loss, steps=None, weights_at=None):
    """sum of L_t over steps (all steps when None)."""
    hs = ref_states(p, xs, h0, f_h, weights_at)
    total = 0.0
    for t in range(1, len(xs) + 1):
        if steps is None or t in steps:
            z = np.einsum("oh,bh->bo", p["U"], hs[t]) + p["b_y"]
            total += ref_step_loss(z, targets[t - 1], f_y, loss)
    return total


def finite_differences(fn, arrays):
    """Central differences of fn() with respect to every entry of every array (changed in place).

    The five-point central stencil (error O(EPS^4)) keeps the rounding error small enough for
    the 1e-6 norm-wise test even where a gradient is small by cancellation.
    """
    grads = {}
    for name, arr in arrays.items():
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            values = {}
            for step in (-2, -1, 1, 2):
                arr[idx] = orig + step * EPS
                values[step] = fn()
            arr[idx] = orig
            g[idx] = (8 * (values[1] - values[-1]) - (values[2] - values[-2])) / (12 * EPS)
        grads[name] = g
    return grads


def fd_grads(prob, steps=None):
    p = {n: prob["params"][n].copy() for n in PARAMS}
    h0 = prob["h0"].copy()
    args = (prob["xs"], prob["targets"])
    cfg = (prob["f_h"], prob["f_y"], prob["loss"])
    return finite_differences(lambda: ref_loss(p, *args, h0, *cfg, steps), {**p, "h0": h0})


def rel_err(g, g_ref):
    return np.linalg.norm(g - g_ref) / max(np.linalg.norm(g_ref), 1e-300)


def assert_close(grads, ref, tol=TOL, keys=KEYS):
    for name in keys:
        assert grads[name].shape == ref[name].shape, name
        err = rel_err(np.asarray(grads[name], dtype=np.float64), ref[name])
        assert err < tol, f"{name}: relative error {err:.3g}"


def make_problem(T, B, f_h="tanh", f_y="identity", loss="squared_error", seed=0, D=3, H=4, O=3):
    """Random parameters and data, resampled until no pre-activation is near a relu kink."""
    rng = np.random.default_rng(seed)
    while True:
        params = {
            "V": rng.normal(0, 0.6, (H, D)),
            "W": rng.normal(0, 0.6, (H, H)),
            "U": rng.normal(0, 0.6, (O, H)),
            "b_h": rng.normal(0, 0.3, H),
            "b_y": rng.normal(0, 0.3, O),
        }
        xs = rng.normal(size=(T, B, D))
        h0 = rng.normal(0, 0.5, (B, H))
        hs = ref_states(params, xs, h0, f_h)
        pre = [
            xs[t] @ params["V"].T + hs[t] @ params["W"].T + params["b_h"] for t in range(T)
        ]
        if min(np.abs(a).min() for a in pre) > 1e-2:
            break
    if loss == "squared_error":
        targets = rng.normal(size=(T, B, O))
        if f_y == "softmax":
            targets = ref_softmax(rng.normal(size=(T * B, O))).reshape(T, B, O)
    else:
        targets = rng.integers(0, O, size=(T, B))
    return dict(params=params, xs=xs, targets=targets, h0=h0, f_h=f_h, f_y=f_y, loss=loss)


def call(fn, prob, **kw):
    return fn(prob["params"], prob["xs"], prob["targets"], prob["h0"],
              prob["f_h"], prob["f_y"], prob["loss"], **kw)


# --- bptt and the sum of the notes' terms against finite differences -----------------------------


@pytest.mark.parametrize("f_y,loss", OUT_LOSS)
@pytest.mark.parametrize("f_h", F_H)
@pytest.mark.parametrize("T,B", [(1, 1), (2, 3), (5, 2)])
def test_total_loss_gradients_match_finite_differences(T, B, f_h, f_y, loss):
    prob = make_problem(T, B, f_h, f_y, loss, seed=T * 10 + B)
    ref = fd_grads(prob)
    assert_close(call(bptt, prob), ref)
    assert_close(sum_terms(call(bptt_terms, prob)), ref)


@pytest.mark.parametrize("f_y,loss", OUT_LOSS)
@pytest.mark.parametrize("f_h", F_H)
@pytest.mark.parametrize("t", [1, 3])
def test_single_step_loss_gradients_match_finite_differences(t, f_h, f_y, loss):
    prob = make_problem(5, 2, f_h, f_y, loss, seed=7)
    ref = fd_grads(prob, steps={t})
    assert_close(call(bptt, prob, t=t), ref)
    assert_close(sum_terms(call(bptt_terms, prob, t=t)), ref)


@pytest.mark.parametrize("f_h", ["tanh", "relu"])
def test_sigmoid_output_with_squared_error(f_h):
    prob = make_problem(4, 2, f_h, "sigmoid", "squared_error", seed=3)
    ref = fd_grads(prob)
    assert_close(call(bptt, prob), ref)
    assert_close(sum_terms(call(bptt_terms, prob)), ref)


@settings(max_examples=20, deadline=None)
@given(
    T=st.integers(1, 4), B=st.integers(1, 3), D=st.integers(1, 3), H=st.integers(1, 4),
    O=st.integers(2, 3), f_h=st.sampled_from(["tanh", "sigmoid"]), seed=st.integers(0, 10**6),
)
def test_gradients_match_finite_differences_for_any_sizes(T, B, D, H, O, f_h, seed):
    prob = make_problem(T, B, f_h, "softmax", "cross_entropy", seed=seed, D=D, H=H, O=O)
    assert_close(call(bptt, prob), fd_grads(prob))


def test_h0_none_means_zeros():
    prob = make_problem(3, 2, "tanh", seed=5)
    prob["h0"] = np.zeros_like(prob["h0"])
    ref = fd_grads(prob)
    prob["h0"] = None
    assert_close(call(bptt, prob), ref)
    assert_close(sum_terms(call(bptt_terms, prob)), ref)


# --- the terms themselves ------------------------------------------------------------------------


@pytest.mark.parametrize("f_h,f_y,loss", [
    ("tanh", "identity", "squared_error"),
    ("relu", "softmax", "cross_entropy"),
    ("sigmoid", "softmax", "squared_error"),
    ("identity", "identity", "cross_entropy"),
])
def test_sum_of_terms_equals_bptt(f_h, f_y, loss):
    prob = make_problem(5, 3, f_h, f_y, loss, seed=11)
    for t in (None, 1, 4, 5):
        assert_close(sum_terms(call(bptt_terms, prob, t=t)), call(bptt, prob, t=t), tol=1e-10)


def test_terms_have_the_documented_structure():
    T, B, H = 4, 2, 4
    prob = make_problem(T, B, seed=2)
    terms = call(bptt_terms, prob)
    pairs = {(t, k) for t in range(1, T + 1) for k in range(1, t + 1)}
    for name in ("W", "V", "b_h"):
        assert set(terms[name]) == pairs
        assert all(v.shape == prob["params"][name].shape for v in terms[name].values())
    for name in ("U", "b_y"):
        assert set(terms[name]) == set(range(1, T + 1))
        assert all(v.shape == prob["params"][name].shape for v in terms[name].values())
    assert set(terms["h0"]) == set(range(1, T + 1))
    assert all(v.shape == (B, H) for v in terms["h0"].values())
    one = call(bptt_terms, prob, t=3)
    assert set(one["W"]) == {(3, 1), (3, 2), (3, 3)} and set(one["U"]) == {3}


def test_each_term_is_the_gradient_for_a_per_step_copy_of_the_weights():
    """Give step k its own copy W_k, V_k, b_h,k: dL_t/dW_k is the k-th term of dL_t/dW."""
    T = 4
    prob = make_problem(T, 2, "tanh", "softmax", "cross_entropy", seed=4)
    p, terms = prob["params"], call(bptt_terms, prob)
    args = (prob["xs"], prob["targets"], prob["h0"], "tanh", "softmax", "cross_entropy")
    for k in range(1, T + 1):
        copy_k = {n: p[n].copy() for n in ("W", "V", "b_h")}

        def weights_at(i, k=k, copy_k=copy_k):
            return copy_k if i == k else p

        for t in range(k, T + 1):
            ref = finite_differences(
                lambda t=t, w=weights_at: ref_loss(p, *args, steps={t}, weights_at=w), copy_k
            )
            for name in ("W", "V", "b_h"):
                assert rel_err(terms[name][(t, k)], ref[name]) < TOL, (name, t, k)
    for t in range(1, T + 1):
        h0 = prob["h0"].copy()
        ref = finite_differences(lambda t=t, h0=h0: ref_loss(p, *args[:2], h0, *args[3:], {t}),
                                 {"h0": h0})
        assert rel_err(terms["h0"][t], ref["h0"]) < TOL


# --- truncated BPTT ------------------------------------------------------------------------------


def ref_truncated_loss(p, xs, targets, h0, f_h, f_y, loss, chunk, frozen):
    """Sum of the chunks' losses, each chunk after the first starting from a constant state."""
    total = 0.0
    for start in range(0, len(xs), chunk):
        h_in = h0 if start == 0 else frozen[start]
        stop = start + chunk
        total += ref_loss(p, xs[start:stop], targets[start:stop], h_in, f_h, f_y, loss)
    return total


@pytest.mark.parametrize("T,chunk,f_h", [
    (5, 2, "tanh"), (6, 3, "relu"), (5, 1, "sigmoid"), (7, 3, "identity"), (4, 4, "tanh"),
    (3, 10, "tanh"),
])
def test_truncated_matches_finite_differences_of_the_truncated_loss(T, chunk, f_h):
    prob = make_problem(T, 2, f_h, "softmax", "cross_entropy", seed=T + chunk)
    p = {n: prob["params"][n].copy() for n in PARAMS}
    h0 = prob["h0"].copy()
    frozen = [s.copy() for s in ref_states(p, prob["xs"], h0, f_h)]  # from unperturbed values
    cfg = (f_h, "softmax", "cross_entropy", chunk, frozen)
    ref = finite_differences(
        lambda: ref_truncated_loss(p, prob["xs"], prob["targets"], h0, *cfg), {**p, "h0": h0}
    )
    grads = call(bptt_truncated, prob, chunk=chunk)
    assert_close(grads, ref)
    full = call(bptt, prob)
    if chunk < T:
        assert rel_err(grads["W"], full["W"]) > 1e-3
        assert rel_err(grads["V"], full["V"]) > 1e-3
    else:
        assert_close(grads, fd_grads(prob))


# --- dtype, input forms, forward and loss value --------------------------------------------------


def test_float32_stays_float32():
    prob = make_problem(4, 2, "tanh", "softmax", "squared_error", seed=6)
    ref = call(bptt, prob)
    prob32 = dict(prob, params={n: v.astype(np.float32) for n, v in prob["params"].items()},
                  xs=prob["xs"].astype(np.float32), h0=prob["h0"].astype(np.float32))
    results = [call(bptt, prob32), call(bptt, prob32, t=2), call(bptt_truncated, prob32, chunk=2),
               sum_terms(call(bptt_terms, prob32))]
    for grads in results:
        assert all(grads[name].dtype == np.float32 for name in KEYS)
    assert_close(results[0], ref, tol=1e-4)
    fw = forward(prob32["params"], prob32["xs"], prob32["h0"], "tanh", "softmax")
    assert all(arr.dtype == np.float32 for arr in fw)


def test_lists_of_steps_are_accepted():
    prob = make_problem(3, 2, "tanh", "identity", "cross_entropy", seed=8)
    ref = fd_grads(prob)
    prob = dict(prob, xs=list(prob["xs"]), targets=list(prob["targets"]))
    assert_close(call(bptt, prob), ref)


def test_loss_value_and_forward_match_the_reference():
    prob = make_problem(4, 3, "sigmoid", "softmax", "cross_entropy", seed=9)
    p, xs, h0 = prob["params"], prob["xs"], prob["h0"]
    ref_args = (p, xs, prob["targets"], h0, "sigmoid", "softmax", "cross_entropy")
    assert np.isclose(call(loss_value, prob), ref_loss(*ref_args), rtol=1e-12)
    assert np.isclose(call(loss_value, prob, t=2), ref_loss(*ref_args, steps={2}), rtol=1e-12)
    fw = forward(p, xs, h0, "sigmoid", "softmax")
    hs = ref_states(p, xs, h0, "sigmoid")
    assert np.allclose(fw.h, np.stack(hs), rtol=1e-12, atol=0)
    z = np.einsum("oh,tbh->tbo", p["U"], np.stack(hs[1:])) + p["b_y"]
    assert np.allclose(fw.yhat, np.stack([ref_softmax(zt) for zt in z]), rtol=1e-12, atol=0)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("change,message", [
    (dict(loss="hinge"), "loss must be one of"),
    (dict(f_h="softplus"), "f_h must be one of"),
    (dict(f_y="tanh"), "f_y must be one of"),
    (dict(f_y="sigmoid"), "f_y='sigmoid'"),
    (dict(t=0), r"t must be a time step in 1..T = 1..3"),
    (dict(t=4), r"t must be a time step in 1..T = 1..3"),
    (dict(W=np.zeros((4, 5))), r"W has shape \(4, 5\); expected \(H, H\)"),
    (dict(b_y=np.zeros(4)), r"b_y has shape \(4,\); expected \(O,\)"),
    (dict(xs=np.zeros((3, 2, 5))), r"xs has shape \(3, 2, 5\)"),
    (dict(h0=np.zeros((3, 4))), r"h0 has shape \(3, 4\); expected \(B, H\)"),
    (dict(targets=np.zeros((3, 2), dtype=int) + 3), "0..2"),
])
def test_bad_inputs_raise_clear_errors(change, message):
    prob = make_problem(3, 2, "tanh", "identity", "cross_entropy", seed=1)
    args = dict(prob["params"], **{k: prob[k] for k in ("xs", "targets", "h0", "f_h", "f_y",
                                                        "loss")}, t=None)
    args.update(change)
    params = {n: args.pop(n) for n in PARAMS}
    for fn in (bptt, bptt_terms):
        with pytest.raises(ValueError, match=message):
            fn(params, **args)


@pytest.mark.parametrize("chunk", [0, -2, 1.5])
def test_bad_chunk_raises(chunk):
    prob = make_problem(3, 2, seed=1)
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        call(bptt_truncated, prob, chunk=chunk)
