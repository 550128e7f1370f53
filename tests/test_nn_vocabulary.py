"""nn.Sequential, ReLU, Tanh, Sigmoid, Module repr and train()/eval(); functional relu, tanh,
sigmoid, nll_loss and binary_cross_entropy against their formulas and finite differences.
"""

import numpy as np
import pytest
from finite_differences import FAST, check_grads, sample, seeds, shapes
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad import nn


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


# ---- activations as functions and modules ---------------------------------------------------
ACTIVATIONS = {  # name: (function, module, numpy reference, domain away from kinks)
    "relu": (F.relu, nn.ReLU(), lambda a: np.maximum(a, 0), "nonzero"),
    "tanh": (F.tanh, nn.Tanh(), np.tanh, "any"),
    "sigmoid": (F.sigmoid, nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a)), "any"),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@FAST
@given(shape=shapes, seed=seeds)
def test_activation_function_and_module(name, shape, seed):
    function, module, reference, domain = ACTIVATIONS[name]
    a = sample(np.random.default_rng(seed), domain, shape)
    close(check_grads(function, a, seed=seed).data, reference(a))
    close(check_grads(module, a, seed=seed).data, reference(a))
    close(function(a).data, reference(a))  # a plain array is accepted


# ---- Sequential ---------------------------------------------------------------------------------
def make_model():
    return nn.Sequential(nn.Linear(3, 4, seed=0), nn.Tanh(), nn.Linear(4, 2, seed=1), nn.Sigmoid())


@FAST
@given(batch=st.integers(1, 4), seed=seeds)
def test_sequential_applies_its_modules_in_order(batch, seed):
    model = make_model()
    x = np.random.default_rng(seed).uniform(-2, 2, (batch, 3))
    out = check_grads(model, x, seed=seed)
    first, second = model[0], model[2]
    hidden = np.tanh(x @ first.weight.data.T + first.bias.data)
    close(out.data, 1 / (1 + np.exp(-(hidden @ second.weight.data.T + second.bias.data))))


def test_sequential_parameters_indexing_and_errors():
    model = make_model()
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert set(model.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert len(model) == 4 and isinstance(model[1], nn.Tanh) and model[-1] is list(model)[3]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    with pytest.raises(TypeError, match="Sequential: item 1 is a function, not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_sequential_parameters_train_like_pytorch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 2))
    y = (x[:, :1] * x[:, 1:] > 0).astype(float)  # XOR of signs: needs the hidden layer
    model = nn.Sequential(nn.Linear(2, 8, seed=0), nn.Tanh(), nn.Linear(8, 1, seed=1),
                          nn.Sigmoid())
    optimizer = mg.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(300):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0]


# ---- repr, train and eval -----------------------------------------------------------------------
def test_repr_is_pytorchs_tree():
    model = nn.Sequential(nn.Linear(2, 4, seed=0), nn.ReLU(),
                          nn.Sequential(nn.Linear(4, 1, bias=False), nn.Sigmoid()),
                          nn.Embedding(10, 3))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=1, bias=False)\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        "  (3): Embedding(10, 3)\n"
        ")"
    )


def test_repr_of_a_custom_module_shows_its_parameters_and_children():
    class Net(nn.Module):
        def __init__(self):
            self.scale = mg.ones(2, requires_grad=True)
            self.layers = [nn.Tanh(), nn.Linear(2, 2)]

    assert repr(Net()) == (
        "Net(\n"
        "  scale=(2,)\n"
        "  (layers.0): Tanh()\n"
        "  (layers.1): Linear(in_features=2, out_features=2, bias=True)\n"
        ")"
    )


def test_train_and_eval_set_the_flag_recursively_and_return_the_module():
    shared = nn.Tanh()
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(shared, nn.ReLU()), shared)
    modules = list(model.modules())
    assert len(modules) == 5  # the shared Tanh once
    assert all(m.training for m in modules)
    assert model.eval() is model
    assert not any(m.training for m in modules)
    model[1].train()
    assert [m.training for m in modules] == [False, False, True, True, True]
    assert model.train() is model and all(m.training for m in modules)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]


# ---- nll_loss -----------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(rows=st.integers(1, 5), classes=st.integers(1, 4), seed=seeds)
def test_nll_loss_value_gradient_and_cross_entropy(reduction, rows, classes, seed):
    rng = np.random.default_rng(seed)
    scores = rng.uniform(-2, 2, (rows, classes))
    y = rng.integers(0, classes, rows)
    out = check_grads(lambda s: F.nll_loss(s, y, reduction=reduction), scores, seed=seed)
    picked = -scores[np.arange(rows), y]
    close(out.data, {"mean": picked.mean(), "sum": picked.sum(), "none": picked}[reduction])
    z = mg.Tensor(scores)
    close(F.nll_loss(F.log_softmax(z), y, reduction).data, F.cross_entropy(z, y, reduction).data)


@pytest.mark.parametrize("call, error, message", [
    (lambda s: F.nll_loss(s, [0, 1, 2]), ValueError, r"nll_loss: log_probs must be \(N, C\) "
     r"and targets \(N,\); got \(2, 3\) and \(3,\)"),
    (lambda s: F.nll_loss(s, [0.0, 1.0]), TypeError, r"nll_loss: targets must be integer"),
    (lambda s: F.nll_loss(s, [0, 3]), ValueError, r"nll_loss: targets must lie in 0..2, got 0..3"),
    (lambda s: F.nll_loss(s, [0, 1], "avg"), ValueError, r"nll_loss: reduction must be one of"),
    (lambda s: F.cross_entropy(s, [0, 5]), ValueError, r"cross_entropy: targets must lie in"),
])
def test_nll_loss_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(mg.zeros(2, 3))


# ---- binary_cross_entropy -----------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(shape=shapes, seed=seeds)
def test_binary_cross_entropy_value_and_gradients(reduction, shape, seed):
    rng = np.random.default_rng(seed)
    p, y = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)  # soft targets too
    out = check_grads(lambda a, b: F.binary_cross_entropy(a, b, reduction), p, y, seed=seed)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    expected = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    hard = (y > 0.5).astype(float)  # class labels as targets, which need no gradient
    check_grads(lambda a: F.binary_cross_entropy(a, hard, reduction), p, seed=seed)


def test_binary_cross_entropy_clamps_log_at_minus_100_as_pytorch():
    p = mg.Tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    close(loss.data, [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    close(p.grad, [-1e12, 1e12, 0.0, 0.0])  # (p - y) / max(p (1 - p), 1e-12)
    assert np.isfinite(F.binary_cross_entropy(mg.Tensor([1e-300]), [1.0]).item())


@pytest.mark.parametrize("call, message", [
    (lambda: F.binary_cross_entropy(mg.full(2, 0.5), np.ones(3)),
     r"binary_cross_entropy: probs \(2,\) and targets \(3,\) must have the same shape"),
    (lambda: F.binary_cross_entropy(mg.tensor([0.5, 1.5]), [1.0, 0.0]),
     r"binary_cross_entropy: probs must lie in \[0, 1\], got 0.5..1.5 \(for logits, apply"),
    (lambda: F.binary_cross_entropy(mg.full(2, 0.5), [1.0, 0.0], "avg"),
     r"binary_cross_entropy: reduction must be one of"),
])
def test_binary_cross_entropy_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
