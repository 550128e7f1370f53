"""mg.checkpoint and checkpointed BPTT: the same gradients as the stored graph, checked against
finite differences and the closed form; what fn must satisfy is checked where it can be."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from models import GRU, LSTM, RNN
from models.bptt import bptt
from models.segments import segment_length


def rel(g: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(g - ref) / max(np.linalg.norm(ref), 1e-300))


def test_checkpoint_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    W = mg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    h = mg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def two_steps(h, W):
        h1 = (h @ W).tanh()
        return (h1 @ W).sigmoid(), (h1 * h1).sum()

    def f(h, W):
        out, extra = mg.checkpoint(two_steps, h, W)
        return (out * out).sum() + 3 * extra

    assert mg.gradcheck(f, [h, W])


def test_outputs_keep_structure_names_and_values():
    x = mg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)

    def fn(x):
        y = x * 2
        y.name = "y"
        return y, x.sum()

    y, s = mg.checkpoint(fn, x)
    assert y.name == "y" and y.shape == (2, 3) and s.shape == ()
    np.testing.assert_array_equal(y.data, x.data * 2)
    single = mg.checkpoint(lambda x: x.exp(), x)
    assert isinstance(single, mg.Tensor) and single.op == "checkpoint"


def test_closure_parameters_get_their_gradients_from_the_nested_backward():
    W = mg.Tensor(np.array([[0.5, -1.0], [2.0, 0.3]]), requires_grad=True)
    x = mg.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    mg.checkpoint(lambda x: (x @ W).tanh(), x).sum().backward()
    a = np.array([[1.0, 2.0]]) @ W.data
    expected = np.array([[1.0], [2.0]]) @ (1 - np.tanh(a) ** 2)  # dL/dW = x^T (1 - tanh^2)
    np.testing.assert_allclose(W.grad, expected, rtol=1e-12)


def test_a_nondeterministic_fn_is_refused_in_backward():
    rng = np.random.default_rng(0)
    x = mg.Tensor(np.ones(3), requires_grad=True)
    with mg.scope("seg"):
        y = mg.checkpoint(lambda x: x * mg.Tensor(rng.standard_normal(3)), x)
    with pytest.raises(RuntimeError, match="checkpoint in scope 'seg'.*deterministic"):
        y.sum().backward()


def test_an_input_changed_in_place_is_refused():
    x = mg.Tensor(np.ones(3), requires_grad=True)
    h = x * 1.0
    y = mg.checkpoint(lambda h: h.tanh(), h)
    with mg.no_grad():
        h += 1.0
    with pytest.raises(RuntimeError, match="unchanged in place"):
        y.sum().backward()


@pytest.mark.parametrize("bad", [lambda x: 3.0, lambda x: (), lambda x: (x > 0)])
def test_fn_must_return_float_tensors(bad):
    x = mg.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="checkpoint: fn"):
        mg.checkpoint(bad, x)


def test_under_no_grad_nothing_is_recorded():
    x = mg.Tensor(np.ones(2), requires_grad=True)
    with mg.no_grad():
        y = mg.checkpoint(lambda x: x * 2, x)
    assert y.op is None and not y.requires_grad


@pytest.mark.parametrize("value, steps, k", [("sqrt", 500, 23), ("sqrt", 1, 1), (7, 3, 7)])
def test_segment_length(value, steps, k):
    assert segment_length(value, steps) == k


@pytest.mark.parametrize("bad", [0, -2, 2.5, "cube", True])
def test_segment_length_refuses_nonsense(bad):
    with pytest.raises(ValueError, match="checkpoint must be"):
        segment_length(bad, 10)


def rnn_problem(f_h: str, T: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    rnn = RNN(3, 6, 2, f_h=f_h, seed=seed)
    xs = rng.standard_normal((T, 2, 3))
    targets = rng.standard_normal((T, 2, 2))
    h0 = mg.Tensor(rng.standard_normal((2, 6)) * 0.5, requires_grad=True)
    return rnn, xs, targets, h0


def grads(model, h0) -> dict[str, np.ndarray]:
    out = {name: p.grad.copy() for name, p in model.named_parameters()}
    out["h0"] = h0.grad.copy()
    model.zero_grad()
    h0.zero_grad()
    return out


@pytest.mark.parametrize("f_h", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("T, k", [(500, "sqrt"), (500, 7), (37, 10), (12, 1), (12, 12)])
def test_checkpointed_rnn_equals_plain_unrolled_and_closed_form(f_h, T, k):
    rnn, xs, targets, h0 = rnn_problem(f_h, T)
    if f_h == "identity":  # keep a long linear recurrence from overflowing
        with mg.no_grad():
            rnn.W *= 0.5
    plain = rnn.total_loss(xs, targets, h0=h0)
    plain.backward()
    reference = grads(rnn, h0)
    checkpointed = rnn.total_loss(xs, targets, h0=h0, checkpoint=k)
    assert checkpointed.item() == pytest.approx(plain.item(), rel=1e-12)
    checkpointed.backward()
    got = grads(rnn, h0)
    closed = bptt(rnn.params(), xs, targets, h0.data, f_h, "identity", "squared_error")
    for name in reference:
        assert rel(got[name], reference[name]) <= 1e-12, name
        assert rel(got[name], closed[name]) <= 1e-10, name


@pytest.mark.parametrize("model", [LSTM, GRU, RNN])
@pytest.mark.parametrize("k", ["sqrt", 4])
def test_checkpointed_forward_of_every_cell_equals_plain(model, k):
    rng = np.random.default_rng(1)
    net = model(3, 5, 4, seed=2)
    T = 60
    xs = rng.standard_normal((T, 2, 3))
    targets = rng.integers(0, 4, size=(T, 2))
    h = mg.Tensor(rng.standard_normal((2, 5)) * 0.5, requires_grad=True)
    h0 = (h, mg.Tensor(np.zeros((2, 5)))) if model is LSTM else h
    values = {}
    for checkpoint in (None, k):
        ys, hs = net(xs, h0, checkpoint=checkpoint)
        loss = net.loss(ys, targets, "cross_entropy") + (hs[-1] * hs[-1]).sum()
        loss.backward()
        values[checkpoint] = loss.item(), grads(net, h), [y.data for y in ys]
        total = net.total_loss(xs, targets, "cross_entropy", h0, checkpoint)
        assert total.item() == pytest.approx(net.loss(ys, targets, "cross_entropy").item(),
                                             rel=1e-12)
    (loss0, g0, ys0), (loss1, g1, ys1) = values[None], values[k]
    assert loss1 == pytest.approx(loss0, rel=1e-12)
    np.testing.assert_array_equal(np.array(ys0), np.array(ys1))
    for name in g0:
        assert rel(g1[name], g0[name]) <= 1e-12, name


@pytest.mark.parametrize("model", [LSTM, GRU])
def test_checkpointed_total_loss_of_gated_cells(model):
    rng = np.random.default_rng(3)
    net = model(2, 4, 2, f_y="sigmoid", seed=5)
    xs, targets = rng.standard_normal((150, 1, 2)), rng.uniform(0, 1, (150, 1, 2))
    plain = net.total_loss(xs, targets)
    plain.backward()
    reference = {n: p.grad.copy() for n, p in net.named_parameters()}
    net.zero_grad()
    net.total_loss(xs, targets, checkpoint="sqrt").backward()
    for name, p in net.named_parameters():
        assert rel(p.grad, reference[name]) <= 1e-12, name


def test_checkpointed_graph_stores_only_boundaries():
    rnn, xs, targets, h0 = rnn_problem("tanh", 100)
    loss = rnn.total_loss(xs, targets, h0=h0, checkpoint=10)
    nodes = mg.topological_order(loss)
    segments = [n for n in nodes if n.op == "checkpoint"]
    assert len(segments) == 10
    assert [s.scope for s in segments[:2]] == ["t=1..10", "t=11..20"]
    assert not any(n.op == "tanh" for n in nodes)  # no step's graph is kept
    stored = {n.name for n in nodes if n.name and n.name.startswith("h_")}
    assert stored == {f"h_{t}" for t in range(10, 100, 10)}  # the boundaries the next use


def test_parameters_are_restored_when_a_step_fails():
    rnn, xs, targets, h0 = rnn_problem("tanh", 5)
    W = rnn.W
    with pytest.raises(ValueError):
        rnn.total_loss(xs[:, :, :2], targets, checkpoint=2)  # wrong input size
    assert rnn.W is W
    with pytest.raises(ValueError, match="5 steps and 4 targets"):
        rnn.total_loss(xs, targets[:4], checkpoint=2)
    with pytest.raises(ValueError, match="0 steps and 0 targets"):
        rnn.total_loss(xs[:0], targets[:0], checkpoint=2)


def test_higher_order_derivatives_through_a_checkpoint_are_refused_clearly():
    x = mg.Tensor(np.array([0.3, -0.2]), requires_grad=True)
    with mg.scope("seg"):
        y = mg.checkpoint(lambda x: (x * x * x).sum(), x)
    with pytest.raises(NotImplementedError, match="checkpoint in scope 'seg'.*create_graph"):
        y.backward(create_graph=True)
    with pytest.raises(NotImplementedError, match="mg.grad"):
        mg.grad(y, [x])


def test_recomputation_records_even_inside_no_grad_of_the_caller():
    x = mg.Tensor(np.array([0.3, -0.2]), requires_grad=True)
    y = mg.checkpoint(lambda x: (x * x).sum(), x)
    with mg.no_grad():  # a backward called where recording is off still recomputes a graph
        y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data, rtol=1e-15)
