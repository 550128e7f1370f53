"""Gradients of gradients: backward(create_graph=True), mg.grad, hvp, hessian, gradgradcheck.

Every check compares with finite differences of first derivatives or with a closed form.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from primitive_cases import CASES, inputs
from test_random_graphs import SHAPE, programs, run

import minigrad as mg
from models import RNN


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_of_every_primitive_match_finite_differences(name):
    assert mg.gradgradcheck(CASES[name][0], inputs(name), atol=1e-5, rtol=1e-4)


@settings(deadline=None, max_examples=25)
@given(program=programs, seed=st.integers(0, 2**16))
def test_random_graphs_second_derivatives_match_finite_differences(program, seed):
    rng = np.random.default_rng(seed)
    xs = [mg.Tensor(rng.uniform(-1, 1, SHAPE), requires_grad=True) for _ in range(2)]
    assert mg.gradgradcheck(lambda *ts: run(program, ts), xs, atol=1e-5, rtol=1e-4)


def test_backward_with_create_graph_gives_tensor_grads_to_differentiate_again():
    x = mg.Tensor([1.0, 2.0, -0.5], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert isinstance(g, mg.Tensor) and g.requires_grad
    np.testing.assert_allclose(g.data, 3 * x.data**2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)


def test_create_graph_accumulates_into_existing_grad():
    x = mg.Tensor([2.0], requires_grad=True)
    (x * x).sum().backward(create_graph=True)
    (x * x * x).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.data, [4.0 + 12.0])


def test_grad_leaves_dot_grad_untouched_and_matches_torch_semantics():
    x = mg.Tensor([0.3, -0.7], requires_grad=True)
    y = (x.tanh() * x).sum()
    (g,) = mg.grad(y, [x], create_graph=True)
    assert x.grad is None
    t = np.tanh(x.data)
    np.testing.assert_allclose(g.data, t + x.data * (1 - t**2))
    h = mg.grad(g.sum(), x)  # a single input gives a single gradient
    second = 2 * (1 - t**2) - 2 * x.data * t * (1 - t**2)
    np.testing.assert_allclose(h.data, second)
    assert not h.requires_grad


def test_grad_of_an_unused_input_is_an_error_or_none():
    x, z = mg.Tensor([1.0], requires_grad=True), mg.Tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        mg.grad(y, [x, z], retain_graph=True)
    gx, gz = mg.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.data.tolist() == [2.0]


def test_grad_releases_the_graph_so_a_second_pass_names_retain_graph():
    x = mg.Tensor([1.0], requires_grad=True)
    y = (x.exp() * x).sum()
    mg.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        mg.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward(create_graph=True)


def test_second_backward_through_a_released_first_order_graph_is_the_same_error():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    h = x.sin()
    loss = (h * h).sum()
    loss.backward()  # releases h's node too
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        h.sum().backward(create_graph=True)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    A = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [0.0, 1.0, 2.0]])
    H = mg.hessian(lambda x: x @ (mg.Tensor(A) @ x), np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(H, A + A.T, atol=1e-12)


def test_hessian_of_relu_is_zero_away_from_the_kink():
    H = mg.hessian(lambda x: (x.relu() * 3).sum() + x.abs().sum(), np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(H, np.zeros((2, 2)))


def _rnn_loss(rnn, xs, targets, loss):
    def f(V, W, U, b_h, b_y, h0):
        rnn.V, rnn.W, rnn.U, rnn.b_h, rnn.b_y = V, W, U, b_h, b_y
        ys, _ = rnn(xs, h0)
        return rnn.loss(ys, targets, loss)
    return f


@pytest.mark.parametrize("f_h,loss", [("tanh", "squared_error"), ("sigmoid", "cross_entropy")])
def test_hessian_vector_products_through_the_unrolled_rnn_match_differences_of_gradients(f_h,
                                                                                         loss):
    rng = np.random.default_rng(3)
    T, B, D, H, O = 4, 2, 2, 3, 3
    rnn = RNN(D, H, O, f_h=f_h, seed=1)
    xs = rng.standard_normal((T, B, D))
    targets = (rng.integers(0, O, (T, B)) if loss == "cross_entropy"
               else rng.standard_normal((T, B, O)))
    params = [p.data.copy() + rng.uniform(-0.3, 0.3, p.shape) for p in
              (rnn.V, rnn.W, rnn.U, rnn.b_h, rnn.b_y)] + [rng.uniform(-0.5, 0.5, (B, H))]
    v = [rng.standard_normal(p.shape) for p in params]
    f = _rnn_loss(rnn, xs, targets, loss)
    _, hv = mg.hvp(f, [mg.Tensor(p) for p in params], [mg.Tensor(a) for a in v])

    def gradients(arrays):
        ts = [mg.Tensor(a, requires_grad=True) for a in arrays]
        f(*ts).backward()
        return [t.grad for t in ts]

    eps = 1e-5
    plus = gradients([p + eps * d for p, d in zip(params, v)])
    minus = gradients([p - eps * d for p, d in zip(params, v)])
    for got, gp, gm in zip(hv, plus, minus):
        np.testing.assert_allclose(got.data, (gp - gm) / (2 * eps), rtol=1e-6, atol=1e-7)


def test_numpy_functions_on_tensors_run_minigrads_ops():
    x = mg.Tensor([[0.5, -1.0]], requires_grad=True)
    y = np.exp(x) + np.add.reduce(np.swapaxes(x, 0, 1), axis=0) * np.ones(2)
    assert isinstance(y, mg.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data) + 2.0)
    assert isinstance(np.less(x, 0), np.ndarray)  # comparisons stay plain arrays
    assert np.allclose(x, [[0.5, -1.0]])  # other numpy functions see the array
    with pytest.raises(TypeError, match="out="):
        np.add(x, 1.0, out=np.zeros((1, 2)))
    with pytest.raises(TypeError, match="np.arctan"):
        np.arctan(x)


@pytest.mark.parametrize("order", ["detached_first", "detached_last"])
def test_a_detached_operand_stays_constant_in_the_gradients_graph(order):
    x = mg.Tensor([0.7, -1.2], requires_grad=True)
    xd = x.detach()  # shares x's array
    y = (xd * x).sum() if order == "detached_first" else (x * xd).sum()
    (g,) = mg.grad(y, [x], create_graph=True)
    np.testing.assert_allclose(g.data, x.data)  # d/dx (c x) = c
    assert not g.requires_grad  # c is a constant: the second derivative is 0


def test_hooks_and_retain_grad_see_tensor_gradients_with_create_graph():
    x = mg.Tensor([0.5, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g) or g * 3)
    h.sum().backward(create_graph=True)
    assert isinstance(seen[0], mg.Tensor) and isinstance(h.grad, mg.Tensor)
    np.testing.assert_allclose(x.grad.data, 3 * 2 * x.data)
    with pytest.raises(ValueError, match="record=True"):
        (x * 2).sum().backward(create_graph=True, record=True)


def test_third_derivative_of_tanh_matches_the_closed_form():
    x = mg.Tensor([-0.8, 0.1, 1.3], requires_grad=True)
    (d1,) = mg.grad(x.tanh().sum(), [x], create_graph=True)
    (d2,) = mg.grad(d1.sum(), [x], create_graph=True)
    (d3,) = mg.grad(d2.sum(), [x])
    t = np.tanh(x.data)
    np.testing.assert_allclose(d3.data, (1 - t**2) * (6 * t**2 - 2), rtol=1e-12)


def test_grad_of_several_outputs_with_respect_to_an_intermediate_tensor():
    x = mg.Tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    y1, y2 = (h**2).sum(), (h * x).sum()
    gh, gx = mg.grad([y1, y2], [h, x], grad_outputs=[1.0, 2.0])
    np.testing.assert_allclose(gh.data, 2 * h.data + 2 * x.data)   # dy1/dh + 2 dy2/dh
    np.testing.assert_allclose(gx.data, 3 * gh.data + 2 * h.data)  # through h, and y2's own x


def test_a_seed_of_the_wrong_shape_is_refused_naming_both_shapes():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the tensor has shape \(2,\)"):
        mg.grad(x * x, x, grad_outputs=mg.Tensor([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"grad has shape \(1,\)"):
        (x * x).backward(mg.Tensor([1.0]), create_graph=True)
