"""The central claim: backward() on the unrolled RNN graph equals the notes' closed-form BPTT."""

import itertools

import numpy as np
import pytest

import minigrad as mg
from models import RNN
from models.bptt import bptt, bptt_truncated
from models.bptt_terms import bptt_terms, sum_terms
from models.tbptt import truncated_bptt

D, H, O = 2, 3, 3
NAMES = ("U", "V", "W", "b_h", "b_y")
RECURRENT = ("W", "V", "b_h")


def rel_error(g, ref):
    return np.linalg.norm(g - ref) / max(np.linalg.norm(ref), 1e-300)


def problem(T, B, f_h, f_y, loss, seed=0):
    rng = np.random.default_rng(seed)
    rnn = RNN(D, H, O, f_h=f_h, f_y=f_y, seed=seed)
    for p in rnn.parameters():  # nonzero biases so every term is exercised
        p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    xs = rng.standard_normal((T, B, D))
    if loss == "cross_entropy":
        targets = rng.integers(0, O, (T, B))
    else:
        targets = rng.standard_normal((T, B, O))
    h0 = mg.Tensor(rng.uniform(-0.5, 0.5, (B, H)), requires_grad=True, name="h_0")
    return rnn, xs, targets, h0


def autodiff(rnn, xs, targets, h0, loss, t=None):
    ys, hs = rnn(xs, h0)
    rnn.loss(ys, targets, loss, t=t).backward()
    grads = {name: p.grad for name, p in rnn.named_parameters()}
    grads["h0"] = h0.grad
    return grads


CASES = [
    (T, B, f_h, f_y, loss)
    for T, B, f_h, f_y, loss in itertools.product(
        (1, 2, 5, 20), (1, 3), ("tanh", "sigmoid", "relu", "identity"),
        ("identity", "softmax"), ("squared_error", "cross_entropy"),
    )
]


@pytest.mark.parametrize("T,B,f_h,f_y,loss", CASES)
def test_autodiff_equals_closed_form(T, B, f_h, f_y, loss):
    rnn, xs, targets, h0 = problem(T, B, f_h, f_y, loss)
    got = autodiff(rnn, xs, targets, h0, loss)
    closed = bptt(rnn.params(), xs, targets, h0.data, f_h, f_y, loss)
    for name in (*NAMES, "h0"):
        assert rel_error(got[name], closed[name]) < 1e-9, name
    if T <= 5:  # the literal formula costs T^3 B H^4
        literal = sum_terms(bptt_terms(rnn.params(), xs, targets, h0.data, f_h, f_y, loss))
        for name in (*NAMES, "h0"):
            assert rel_error(got[name], literal[name]) < 1e-9, name


@pytest.mark.parametrize("f_h", ["tanh", "relu"])
@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
@pytest.mark.parametrize("T,t", [(2, 1), (5, 3), (20, 7)])
def test_loss_of_a_single_step(f_h, loss, T, t):
    rnn, xs, targets, h0 = problem(T, 3, f_h, "softmax", loss, seed=2)
    got = autodiff(rnn, xs, targets, h0, loss, t=t)
    closed = bptt(rnn.params(), xs, targets, h0.data, f_h, "softmax", loss, t=t)
    literal = sum_terms(bptt_terms(rnn.params(), xs, targets, h0.data, f_h, "softmax", loss, t=t))
    for name in (*NAMES, "h0"):
        assert rel_error(got[name], closed[name]) < 1e-9, name
        assert rel_error(got[name], literal[name]) < 1e-9, name


def unroll_with_copies(rnn, xs, h0):
    """The same unrolled graph, but step k uses its own copies W_k, V_k, b_h_k (same values)."""
    shared = {name: getattr(rnn, name) for name in RECURRENT}
    copies, ys, h = [], [], h0
    try:
        for k in range(1, len(xs) + 1):
            step_copies = {}
            for name in RECURRENT:
                copy = mg.Tensor(shared[name].data.copy(), requires_grad=True, name=f"{name}_{k}")
                setattr(rnn, name, copy)
                step_copies[name] = copy
            with mg.scope(f"t={k}"):
                y, h = rnn.step(xs[k - 1], h, k)
            copies.append(step_copies)
            ys.append(y)
    finally:
        for name, p in shared.items():
            setattr(rnn, name, p)
    return ys, copies


@pytest.mark.parametrize("f_h,loss", [("tanh", "squared_error"), ("sigmoid", "cross_entropy")])
def test_per_step_copies_are_the_terms_of_the_sum(f_h, loss):
    T, B = 5, 3
    rnn, xs, targets, h0 = problem(T, B, f_h, "identity", loss, seed=3)
    terms = bptt_terms(rnn.params(), xs, targets, h0.data, f_h, "identity", loss)
    for t in range(1, T + 1):  # one step's loss: dL_t/dW_k is the k-th term
        ys, copies = unroll_with_copies(rnn, xs, h0)
        rnn.loss(ys, targets, loss, t=t).backward()
        for k in range(1, T + 1):
            for name in RECURRENT:
                grad = copies[k - 1][name].grad
                if k > t:  # step k comes after L_t: no path
                    assert grad is None or not np.any(grad)
                else:
                    assert rel_error(grad, terms[name][(t, k)]) < 1e-9, (name, t, k)
    ys, copies = unroll_with_copies(rnn, xs, h0)  # the total loss: dL/dW_k = sum_{t>=k} terms
    rnn.loss(ys, targets, loss).backward()
    rnn.zero_grad()
    shared = autodiff(rnn, xs, targets, h0, loss)
    for name in RECURRENT:
        for k in range(1, T + 1):
            expected = sum(terms[name][(t, k)] for t in range(k, T + 1))
            assert rel_error(copies[k - 1][name].grad, expected) < 1e-9, (name, k)
        total = sum(copies[k][name].grad for k in range(T))
        assert rel_error(total, shared[name]) < 1e-9, name


def test_grad_of_hidden_states_is_the_jacobian_chain():
    T, B = 6, 1
    rnn, xs, targets, h0 = problem(T, B, "tanh", "identity", "squared_error", seed=4)
    for t in range(1, T + 1):
        ys, hs = rnn(xs, h0)
        for h in hs:
            h.retain_grad()
        rnn.loss(ys, targets, "squared_error", t=t).backward()
        chain = hs[t - 1].grad.reshape(1, H)  # dL_t/dh_t
        for k in range(t, 0, -1):
            np.testing.assert_allclose(hs[k - 1].grad, chain, rtol=1e-10, atol=1e-13)
            if k > 1:  # one step back: times dh_k/dh_{k-1} from mg.jacobian of step k alone
                step = mg.jacobian(lambda h, k=k: rnn.step(xs[k - 1], h)[1], hs[k - 2].data)
                chain = chain @ step.reshape(H, H)
        rnn.zero_grad()


def test_truncated_bptt_equals_the_truncated_closed_form():
    T, chunk = 11, 4
    rnn, xs, targets, h0 = problem(T, 2, "tanh", "identity", "squared_error", seed=5)
    truncated_bptt(rnn, xs, targets, chunk, h0=h0)
    closed = bptt_truncated(rnn.params(), xs, targets, h0.data, "tanh", "identity",
                            "squared_error", chunk)
    full = bptt(rnn.params(), xs, targets, h0.data, "tanh", "identity", "squared_error")
    for name, p in rnn.named_parameters():
        assert rel_error(p.grad, closed[name]) < 1e-9, name
    assert rel_error(h0.grad, closed["h0"]) < 1e-9
    for name in RECURRENT:
        assert rel_error(closed[name], full[name]) > 1e-3, name
    assert rel_error(closed["U"], full["U"]) < 1e-12  # U needs no BPTT: truncation leaves it


def hidden_grad_norms(rnn, xs, targets, T):
    ys, hs = rnn(xs)
    for h in hs:
        h.retain_grad()
    rnn.loss(ys, targets, "squared_error", t=T).backward()
    return np.array([np.linalg.norm(h.grad) for h in hs])  # ||dL_T/dh_k||, k = 1..T


def test_gradients_vanish_with_tanh_and_a_contracting_w():
    T = 30
    rng = np.random.default_rng(6)
    rnn = RNN(D, H, O, f_h="tanh", seed=6)
    W = rng.standard_normal((H, H))
    rnn.W.data[...] = 0.9 * W / np.linalg.norm(W, 2)  # spectral norm 0.9
    sigma = np.linalg.norm(rnn.W.data, 2)
    xs, targets = rng.standard_normal((T, 1, D)), rng.standard_normal((T, 1, O))
    norms = hidden_grad_norms(rnn, xs, targets, T)
    for k in range(1, T + 1):  # |tanh'| <= 1, so each step back multiplies by at most sigma
        assert norms[k - 1] <= norms[-1] * sigma ** (T - k) * (1 + 1e-12), k
    assert norms[0] < 1e-1 * norms[-1]


def test_gradients_explode_with_relu_and_w_above_one():
    T, c = 12, 1.5
    rng = np.random.default_rng(7)
    rnn = RNN(D, H, O, f_h="relu", seed=7)
    rnn.W.data[...] = c * np.eye(H)
    rnn.V.data[...] = np.abs(rnn.V.data)
    rnn.b_h.data[...] = 0.1
    xs = np.abs(rng.standard_normal((T, 1, D)))  # positive: every unit stays active
    norms = hidden_grad_norms(rnn, xs, rng.standard_normal((T, 1, O)), T)
    growth = norms[:-1] / norms[1:]  # ||dL_T/dh_k|| / ||dL_T/dh_{k+1}||
    np.testing.assert_allclose(growth, c, rtol=1e-12)


def test_gradcheck_of_the_whole_rnn_loss():
    rnn, xs, targets, h0 = problem(4, 2, "tanh", "softmax", "cross_entropy", seed=8)

    def loss_of(V, W, U, b_h, b_y, h_0):
        model = RNN(D, H, O, f_h="tanh", f_y="softmax")
        model.V, model.W, model.U, model.b_h, model.b_y = V, W, U, b_h, b_y
        ys, _ = model(xs, h_0)
        return model.loss(ys, targets, "cross_entropy")

    inputs = [rnn.V, rnn.W, rnn.U, rnn.b_h, rnn.b_y, h0]
    assert mg.gradcheck(loss_of, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_rnn_rejects_bad_shapes_and_names():
    rnn = RNN(D, H, O)
    with pytest.raises(ValueError, match=r"x_t must be \(B, 2\)"):
        rnn(np.zeros((3, 1, 5)))
    with pytest.raises(ValueError, match="f_h"):
        RNN(D, H, O, f_h="softplus")
    with pytest.raises(ValueError, match="t must lie in 1..3"):
        ys, _ = rnn(np.zeros((3, 1, D)))
        rnn.loss(ys, np.zeros((3, 1, O)), t=4)
