"""LSTM and GRU: gradients of the unrolled graph against finite differences, values against a plain
numpy transcription of the gate equations, state conventions, scopes, dtypes and input errors."""

import numpy as np
import pytest

import minigrad as mg
from models.gru import GRU
from models.lstm import LSTM
from models.tbptt import truncated_bptt

T, B, D, H, O = 3, 2, 2, 3, 2
LSTM_NAMES = {f"{kind}_{gate}" for kind in "VWb" for gate in "ifgo"} | {"U", "b_y"}
GRU_NAMES = {f"{kind}_{gate}" for kind in "VWb" for gate in "zrn"} | {"U", "b_y"}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_step_numpy(p, x, h, c):
    """The docstring's equations, batches as rows."""
    i = sigmoid(x @ p["V_i"].T + h @ p["W_i"].T + p["b_i"])
    f = sigmoid(x @ p["V_f"].T + h @ p["W_f"].T + p["b_f"])
    g = np.tanh(x @ p["V_g"].T + h @ p["W_g"].T + p["b_g"])
    o = sigmoid(x @ p["V_o"].T + h @ p["W_o"].T + p["b_o"])
    c = f * c + i * g
    h = o * np.tanh(c)
    return h @ p["U"].T + p["b_y"], h, c


def gru_step_numpy(p, x, h):
    z = sigmoid(x @ p["V_z"].T + h @ p["W_z"].T + p["b_z"])
    r = sigmoid(x @ p["V_r"].T + h @ p["W_r"].T + p["b_r"])
    n = np.tanh(x @ p["V_n"].T + (r * h) @ p["W_n"].T + p["b_n"])
    h = (1 - z) * n + z * h
    return h @ p["U"].T + p["b_y"], h


def make(kind, loss="squared_error", seed=0, dtype=np.float64):
    """A model with every parameter random (biases too, so every term counts), data, a state."""
    rng = np.random.default_rng(seed)
    model = (LSTM if kind == "lstm" else GRU)(D, H, O, seed=seed, dtype=dtype)
    for p in model.parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.shape)
    xs = rng.standard_normal((T, B, D)).astype(dtype)
    if loss == "cross_entropy":
        targets = rng.integers(0, O, (T, B))
    else:
        targets = rng.standard_normal((T, B, O)).astype(dtype)
    h0 = mg.Tensor(rng.uniform(-0.5, 0.5, (B, H)).astype(dtype), requires_grad=True, name="h_0")
    c0 = mg.Tensor(rng.uniform(-0.5, 0.5, (B, H)).astype(dtype), requires_grad=True, name="c_0")
    return model, xs, targets, ((h0, c0) if kind == "lstm" else h0)


def initial(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
def test_gradcheck_every_parameter_and_the_initial_state(kind, loss):
    model, xs, targets, state = make(kind, loss)
    names = [name for name, _ in model.named_parameters()]
    assert set(names) == (LSTM_NAMES if kind == "lstm" else GRU_NAMES)
    originals = [getattr(model, name) for name in names]

    def total_loss(*tensors):
        for name, tensor in zip(names, tensors):
            setattr(model, name, tensor)
        given = tensors[len(names):]
        ys, _ = model(xs, tuple(given) if kind == "lstm" else given[0])
        return model.loss(ys, targets, loss)

    try:
        assert mg.gradcheck(total_loss, [*originals, *initial(state)])
    finally:
        for name, p in zip(names, originals):
            setattr(model, name, p)
    # gradcheck passes trivially for an input the loss never reaches: make sure each one is used
    total_loss(*originals, *initial(state)).backward()
    for tensor in [*originals, *initial(state)]:
        assert tensor.grad is not None and np.any(tensor.grad), tensor.name


def test_lstm_step_and_unroll_match_the_equations():
    model, xs, _, (h0, c0) = make("lstm")
    p = model.params()
    y, (h, c) = model.step(xs[0], (h0, c0))
    y_ref, h_ref, c_ref = lstm_step_numpy(p, xs[0], h0.data, c0.data)
    np.testing.assert_allclose(y.data, y_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.data, h_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c.data, c_ref, rtol=1e-12, atol=1e-14)
    ys, hs, cs = model.unroll(xs, (h0, c0))
    h_ref, c_ref = h0.data, c0.data
    for t in range(T):
        y_ref, h_ref, c_ref = lstm_step_numpy(p, xs[t], h_ref, c_ref)
        np.testing.assert_allclose(ys[t].data, y_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(hs[t].data, h_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cs[t].data, c_ref, rtol=1e-12, atol=1e-14)


def test_gru_step_and_unroll_match_the_equations():
    model, xs, _, h0 = make("gru")
    p = model.params()
    y, h = model.step(xs[0], h0)
    y_ref, h_ref = gru_step_numpy(p, xs[0], h0.data)
    np.testing.assert_allclose(y.data, y_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.data, h_ref, rtol=1e-12, atol=1e-14)
    ys, hs = model(xs, h0)
    h_ref = h0.data
    for t in range(T):
        y_ref, h_ref = gru_step_numpy(p, xs[t], h_ref)
        np.testing.assert_allclose(ys[t].data, y_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(hs[t].data, h_ref, rtol=1e-12, atol=1e-14)


def test_values_by_hand_with_zero_weights():
    """All weights zero: each gate is sigma(its bias), the candidates are tanh(0) = 0."""
    x = np.ones((1, D))
    h_prev, c_prev = np.full((1, H), 0.4), np.full((1, H), 0.6)
    lstm = LSTM(D, H, O)
    gru = GRU(D, H, O)
    for model in (lstm, gru):
        for name, p in model.named_parameters():
            if not name.startswith("b_"):
                p.data[...] = 0.0
    _, (h, c) = lstm.step(x, (h_prev, c_prev))
    c_hand = sigmoid(1.0) * 0.6  # f = sigma(1) from the forget bias; i * g = 0.5 * 0
    np.testing.assert_allclose(c.data, np.full((1, H), c_hand), rtol=1e-14)
    np.testing.assert_allclose(h.data, np.full((1, H), 0.5 * np.tanh(c_hand)), rtol=1e-14)
    _, h = gru.step(x, h_prev)
    np.testing.assert_allclose(h.data, np.full((1, H), 0.5 * 0.4), rtol=1e-14)  # z = 0.5, n = 0


def test_initialisation():
    lstm, gru = LSTM(D, H, O, seed=4), GRU(D, H, O, seed=4)
    for name in ("b_i", "b_g", "b_o", "b_y"):
        assert not np.any(getattr(lstm, name).data), name
    np.testing.assert_array_equal(lstm.b_f.data, np.ones(H))
    for model in (lstm, gru):
        for name, p in model.named_parameters():
            assert p.name == name
            if not name.startswith("b_"):
                assert np.all(np.abs(p.data) <= 1 / np.sqrt(H)) and np.any(p.data), name
    for cls in (LSTM, GRU):
        same, other = cls(D, H, O, seed=4).params(), cls(D, H, O, seed=5).params()
        for name, value in cls(D, H, O, seed=4).params().items():
            np.testing.assert_array_equal(value, same[name])
        assert any(not np.array_equal(same[n], other[n]) for n in same if n.startswith("W"))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_shapes_and_default_state(kind):
    model, xs, _, _ = make(kind)
    ys, hs = model(xs)
    assert len(ys) == len(hs) == T
    assert all(y.shape == (B, O) for y in ys) and all(h.shape == (B, H) for h in hs)
    as_list, _ = model(list(xs))  # a list of T (B, D) arrays works the same
    np.testing.assert_array_equal(as_list[-1].data, ys[-1].data)
    zeros = np.zeros((B, H))
    explicit, _ = model(xs, (zeros, zeros) if kind == "lstm" else zeros)
    np.testing.assert_array_equal(explicit[-1].data, ys[-1].data)
    if kind == "lstm":
        _, _, cs = model.unroll(xs)
        assert len(cs) == T and all(c.shape == (B, H) for c in cs)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_scopes_names_and_start(kind):
    model, xs, targets, state = make(kind)
    ys, hs = model(xs, state)
    L = model.loss(ys, targets)
    scopes = {node.scope for node in mg.topological_order(L) if node.op is not None}
    assert scopes == {f"t={t}" for t in range(1, T + 1)} | {""}  # "": L = L_1 + ... + L_T
    for t in range(1, T + 1):
        assert (hs[t - 1].name, ys[t - 1].name) == (f"h_{t}", f"yhat_{t}")
        assert hs[t - 1].scope == ys[t - 1].scope == f"t={t}"
    ys, hs = model(xs, state, start=5)
    assert [h.name for h in hs] == ["h_5", "h_6", "h_7"]
    assert [y.scope for y in ys] == ["t=5", "t=6", "t=7"]
    gates = ("i", "f", "g", "o", "c") if kind == "lstm" else ("z", "r", "n")
    named = {node.name for node in mg.topological_order(ys[-1])}
    assert {f"{gate}_7" for gate in gates} <= named


def test_lstm_cell_states_are_returned_not_stored():
    model, xs, _, state = make("lstm")
    ys, hs, cs = model.unroll(xs, state)
    assert [c.name for c in cs] == ["c_1", "c_2", "c_3"]
    assert [c.scope for c in cs] == ["t=1", "t=2", "t=3"]
    names = {name for name, _ in model.named_parameters()}
    assert names == LSTM_NAMES  # no activation was taken for a parameter
    forward_ys, forward_hs = model(xs, state)
    np.testing.assert_array_equal(forward_hs[-1].data, hs[-1].data)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_carrying_the_state_across_chunks(kind):
    rng = np.random.default_rng(7)
    model = (LSTM if kind == "lstm" else GRU)(D, H, O, seed=1)
    xs = rng.standard_normal((6, B, D))
    if kind == "lstm":
        whole, _, _ = model.unroll(xs)
        first, hs, cs = model.unroll(xs[:3])
        second, _, _ = model.unroll(xs[3:], (hs[-1], cs[-1]), start=4)
    else:
        whole, _ = model(xs)
        first, hs = model(xs[:3])
        second, _ = model(xs[3:], hs[-1], start=4)
    for a, b in zip(whole, first + second):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-14)
    assert second[0].name == "yhat_4"


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_loss_of_one_step_and_softmax_output(kind):
    model, xs, targets, state = make(kind, "cross_entropy")
    ys, _ = model(xs, state)
    total = model.loss(ys, targets, "cross_entropy")
    parts = [model.loss(ys, targets, "cross_entropy", t=t).item() for t in range(1, T + 1)]
    np.testing.assert_allclose(total.item(), sum(parts), rtol=1e-12)
    soft = (LSTM if kind == "lstm" else GRU)(D, H, O, f_y="softmax", seed=0)
    soft.load_state_dict(model.state_dict())
    probs, _ = soft(xs, state)
    np.testing.assert_allclose(probs[0].data.sum(axis=1), np.ones(B), rtol=1e-12)
    same = soft.loss(probs, targets, "cross_entropy")  # -log yhat, never softmax twice
    np.testing.assert_allclose(same.item(), total.item(), rtol=1e-10)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_float32_stays_float32(kind):
    model, xs, targets, _ = make(kind, dtype=np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    if kind == "lstm":
        ys, hs, cs = model.unroll(xs)
        assert all(c.dtype == np.float32 for c in cs)
    else:
        ys, hs = model(xs)
    assert all(t.dtype == np.float32 for t in ys + hs)
    L = model.loss(ys, targets)
    assert L.dtype == np.float32
    L.backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_lstm_input_errors():
    model = LSTM(D, H, O)
    xs = np.zeros((T, B, D))
    with pytest.raises(ValueError, match=r"x_t must be \(B, 2\)"):
        model(np.zeros((T, B, D + 1)))
    with pytest.raises(ValueError, match=r"\(T, B, D\)"):
        model(np.zeros((B, D)))
    with pytest.raises(ValueError, match="empty"):
        model([])
    with pytest.raises(ValueError, match=r"pair \(h, c\)"):
        model(xs, np.zeros((B, H)))
    with pytest.raises(ValueError, match=r"c must be \(2, 3\), got \(2, 4\)"):
        model(xs, (np.zeros((B, H)), np.zeros((B, H + 1))))
    with pytest.raises(ValueError, match=r"h must be \(2, 3\), got \(3, 3\)"):
        model.step(xs[0], (np.zeros((B + 1, H)), np.zeros((B, H))))
    with pytest.raises(ValueError, match="f_y"):
        LSTM(D, H, O, f_y="tanh")


def test_gru_input_errors():
    model = GRU(D, H, O)
    xs = np.zeros((T, B, D))
    with pytest.raises(ValueError, match=r"x_t must be \(B, 2\)"):
        model(np.zeros((T, B, D + 1)))
    with pytest.raises(ValueError, match=r"\(T, B, D\)"):
        model(np.zeros((B, D)))
    with pytest.raises(ValueError, match=r"h_prev must be \(2, 3\), got \(2, 4\)"):
        model(xs, np.zeros((B, H + 1)))
    with pytest.raises(ValueError, match="f_y"):
        GRU(D, H, O, f_y="relu")


@pytest.mark.parametrize("Model", [LSTM, GRU])
def test_truncated_bptt_carries_the_state_of_every_model(Model):
    """Chunks of the whole length are plain BPTT; shorter chunks cut the gradient (the RNN's
    truncation is checked against the closed form in test_rnn_bptt)."""
    rng = np.random.default_rng(3)
    xs, targets = rng.standard_normal((6, 2, 2)), rng.standard_normal((6, 2, 2))

    def grads(chunk):
        model = Model(2, 3, 2, seed=1)
        total, state = truncated_bptt(model, xs, targets, chunk)
        return total, state, {name: p.grad.copy() for name, p in model.named_parameters()}

    full_model = Model(2, 3, 2, seed=1)
    ys, _ = full_model(xs)
    full_loss = full_model.loss(ys, targets)
    full_loss.backward()
    total, state, whole = grads(6)
    assert np.isclose(total, full_loss.item())
    for name, p in full_model.named_parameters():
        np.testing.assert_allclose(whole[name], p.grad, rtol=1e-12, atol=1e-14)
    total_cut, state_cut, cut = grads(2)
    assert np.isclose(total_cut, full_loss.item())  # same forward values, fewer gradient paths
    assert any(not np.allclose(cut[name], whole[name]) for name in whole)
    parts = state_cut if isinstance(state_cut, tuple) else (state_cut,)
    assert all(not part.requires_grad and part.is_leaf for part in parts)  # cut: detached
