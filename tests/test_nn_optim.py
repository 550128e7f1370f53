"""nn (the parameter rule, state dicts, Linear, Embedding) and optim (SGD, Adam, clipping)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from minigrad.nn import Embedding, Linear, Module


class Block(Module):
    def __init__(self):
        self.scale = Tensor(np.ones(2), requires_grad=True)
        self.running = Tensor(np.zeros(2))  # a buffer: not a parameter


class Net(Module):
    def __init__(self):
        self.w = Tensor(np.ones((2, 2)), requires_grad=True)
        self.alias = self.w  # the same tensor under two names
        self.block = Block()
        self.layers = [Linear(2, 3, seed=0), Linear(3, 1, seed=1)]
        self.config = {"ignored": Tensor(np.ones(1), requires_grad=True)}
        self.mask = Tensor(np.array([True, False]))
        self.lr = 0.1


# ---- the parameter rule ---------------------------------------------------------------------
def test_parameters_follow_the_rule_each_once():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "w",
        "block.scale",
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]
    params = net.parameters()
    assert len(params) == len({id(p) for p in params}) == 6
    assert params[0] is net.w
    assert all(p is not net.block.running and p is not net.mask for p in params)


def test_a_module_shared_by_two_attributes_counts_once():
    class Twice(Module):
        def __init__(self):
            self.first = Linear(2, 2, seed=0)
            self.second = self.first

    assert len(Twice().parameters()) == 2


def test_zero_grad_clears_every_parameter():
    net = Net()
    x = Tensor(np.ones((4, 2)))
    (net.layers[1](net.layers[0](x @ net.w * net.block.scale))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_is_a_copy():
    net = Net()
    state = net.state_dict()
    assert set(state) == {name for name, _ in net.named_parameters()}
    state["w"][...] = 42.0
    state["layers.0.weight"] += 1.0
    np.testing.assert_array_equal(net.w.data, np.ones((2, 2)))
    assert not np.allclose(net.layers[0].weight.data, state["layers.0.weight"])


def test_load_state_dict_round_trip():
    source, target = Net(), Net()
    for p in source.parameters():
        p.data[...] = np.random.default_rng(3).standard_normal(p.shape)
    buffers = [p.data for p in target.parameters()]
    target.load_state_dict(source.state_dict())
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert all(p.data is buf for p, buf in zip(target.parameters(), buffers))  # in place


def test_load_state_dict_errors():
    net = Net()
    state = net.state_dict()
    missing = dict(state)
    del missing["block.scale"]
    with pytest.raises(KeyError, match="block.scale"):
        net.load_state_dict(missing)
    with pytest.raises(KeyError, match="extra"):
        net.load_state_dict({**state, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"(?s)w.*\(2, 2\).*\(3,\)"):
        net.load_state_dict({**state, "w": np.zeros(3)})


# ---- Linear and Embedding -------------------------------------------------------------------
def test_linear_shapes_and_values_match_numpy():
    layer = Linear(4, 3, seed=0)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = layer(Tensor(x))
    assert y.shape == (5, 3)
    np.testing.assert_allclose(y.data, x @ layer.weight.data.T + layer.bias.data)
    assert Linear(4, 3, bias=False, seed=0).bias is None
    assert len(Linear(4, 3, bias=False).parameters()) == 1
    with pytest.raises(ValueError, match="4"):
        layer(Tensor(np.ones((2, 5))))


def test_linear_gradients():
    layer = Linear(3, 2, seed=1)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
    assert mg.gradcheck(lambda x, w, b: (x @ w.T + b).tanh(), [x, layer.weight, layer.bias])
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, np.ones((4, 2)).T @ x.data)
    np.testing.assert_allclose(layer.bias.grad, [4.0, 4.0])


def test_embedding_repeated_indices_accumulate_into_one_row():
    emb = Embedding(5, 3, seed=0)
    out = emb(np.array([[1, 3], [1, 1]]))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data[0, 0], emb.weight.data[1])
    out.sum().backward()
    expected = np.zeros((5, 3))
    expected[1], expected[3] = 3.0, 1.0
    np.testing.assert_array_equal(emb.weight.grad, expected)


def test_embedding_bad_indices():
    emb = Embedding(4, 2, seed=0)
    with pytest.raises(IndexError, match=r"-4\.\.3"):
        emb(np.array([0, 4]))
    with pytest.raises(IndexError):
        emb(np.array([-5]))
    with pytest.raises(TypeError, match="integer"):
        emb(np.array([0.0, 1.0]))


# ---- optimizers -----------------------------------------------------------------------------
def _param(values, grad):
    p = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    p.grad = np.array(grad, dtype=np.float64)
    return p


def test_sgd_step_by_hand():
    p = _param([1.0, -2.0], [0.5, -1.0])
    buffer = p.data
    mg.optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 + 0.1])
    assert p.data is buffer


def test_sgd_momentum_two_steps_by_hand():
    p = _param([1.0], [2.0])
    opt = mg.optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # v = 2, p = 1 - 0.2
    np.testing.assert_allclose(p.data, [0.8])
    p.grad = np.array([1.0])
    opt.step()  # v = 0.9 * 2 + 1 = 2.8, p = 0.8 - 0.28
    np.testing.assert_allclose(p.data, [0.52])


def test_optimizer_zero_grad_and_skips_missing_grads():
    p, q = _param([1.0], [1.0]), Tensor([5.0], requires_grad=True)
    opt = mg.optim.SGD([p, q], lr=0.1)
    opt.step()
    np.testing.assert_allclose(q.data, [5.0])
    opt.zero_grad()
    assert p.grad is None


def test_adam_first_step_moves_by_lr_times_sign():
    p = _param([1.0, 1.0, 1.0], [3.0, -0.01, 200.0])
    mg.optim.Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, 1.0 - 0.01 * np.sign([3.0, -0.01, 200.0]), rtol=1e-6)


def test_adam_matches_hand_written_numpy_for_three_steps():
    rng = np.random.default_rng(4)
    start = rng.standard_normal(4)
    grads = rng.standard_normal((3, 4))
    lr, b1, b2, eps = 0.05, 0.8, 0.99, 1e-8
    p = Tensor(start.copy(), requires_grad=True)
    opt = mg.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    ref, m, v = start.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        p.grad = g.copy()
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        ref = ref - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(p.data, ref, rtol=1e-12, err_msg=f"step {t}")


def test_clip_grad_norm_returns_the_norm_and_scales_to_max_norm():
    a, b = _param([0.0, 0.0], [3.0, 0.0]), _param([0.0], [4.0])
    total = mg.optim.clip_grad_norm([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [0.6, 0.0])
    np.testing.assert_allclose(b.grad, [0.8])
    assert mg.optim.clip_grad_norm([a, b], max_norm=10.0) == pytest.approx(1.0)
    np.testing.assert_allclose(b.grad, [0.8])  # under the limit: unchanged


def test_optimizers_reject_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        mg.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        mg.optim.Adam([Tensor([1.0], requires_grad=True)], lr=0.0)


def test_adam_fits_a_tiny_linear_regression():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([[2.0], [-1.0], [0.5]]) + 0.3
    model = Linear(3, 1, seed=0)
    opt = mg.optim.Adam(model.parameters(), lr=0.05)
    xt, yt = Tensor(x), Tensor(y)

    def loss_value():
        return ((model(xt) - yt) ** 2).mean()

    first = loss_value().item()
    for _ in range(200):
        opt.zero_grad()
        loss = loss_value()
        loss.backward()
        opt.step()
    assert loss_value().item() < first / 10
