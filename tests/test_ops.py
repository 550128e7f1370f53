"""minigrad.ops, elementwise and arithmetic: values equal numpy's, gradients equal central
differences (property-based over shapes), subgradients at kinks, gradcheck and jacobian.

Reductions, shapes, indexing and shape errors are in test_ops_shapes.py; dtypes in
test_ops_dtypes.py.
"""

import re

import numpy as np
import pytest
from finite_differences import CLIP_BOUNDS, FAST, check_grads, sample, seeds, shapes
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

LO, HI = CLIP_BOUNDS


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)


# ---- elementwise functions of one tensor ----------------------------------------------------
UNARY = {  # name: (minigrad forward, numpy reference, input domain away from kinks)
    "neg": (lambda x: -x, np.negative, "any"),
    "exp": (lambda x: x.exp(), np.exp, "any"),
    "log": (lambda x: x.log(), np.log, "positive"),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, "positive"),
    "abs": (lambda x: x.abs(), np.abs, "nonzero"),
    "builtin abs": (abs, np.abs, "nonzero"),
    "tanh": (lambda x: x.tanh(), np.tanh, "any"),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), "any"),
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0), "nonzero"),
    "clip": (lambda x: x.clip(LO, HI), lambda a: np.clip(a, LO, HI), "clip"),
    "clip lo only": (lambda x: x.clip(LO), lambda a: np.maximum(a, LO), "clip"),
    "clip hi only": (lambda x: x.clip(hi=HI), lambda a: np.minimum(a, HI), "clip"),
    "x ** 3": (lambda x: x**3, lambda a: a**3, "any"),
    "x ** 1.5": (lambda x: x**1.5, lambda a: a**1.5, "positive"),
    "x ** -2": (lambda x: x**-2, lambda a: a**-2.0, "nonzero"),
    "2 ** x": (lambda x: 2**x, lambda a: 2.0**a, "any"),
    "0.5 ** x": (lambda x: 0.5**x, lambda a: 0.5**a, "any"),
}


@pytest.mark.parametrize("name", list(UNARY))
@FAST
@given(shape=shapes, seed=seeds)
def test_unary_op_value_and_gradient(name, shape, seed):
    forward, reference, domain = UNARY[name]
    a = sample(np.random.default_rng(seed), domain, shape)
    out = check_grads(forward, a, seed=seed)
    assert out.shape == shape
    close(out.data, reference(a))


def test_sigmoid_saturates_without_overflow():
    x = mg.Tensor([-800.0, 0.0, 800.0], requires_grad=True)
    with np.errstate(all="raise"):
        y = x.sigmoid()
        y.sum().backward()
    close(y.data, [0.0, 0.5, 1.0])
    close(x.grad, [0.0, 0.25, 0.0])


def test_scalar_results_are_0d_arrays_that_in_place_updates_accept():
    x = mg.Tensor([1.0, 2.0])
    for out in (x.sum(), x.mean(), x.max(), x[0], x @ x, x.sum().exp()):
        assert type(out.data) is np.ndarray and out.shape == ()
    total = x.sum()
    total += 1
    assert total.item() == 4.0


# ---- arithmetic with broadcasting ------------------------------------------------------------
BINARY = {  # name: (minigrad forward, numpy reference, domain of a, domain of b)
    "add": (lambda a, b: a + b, np.add, "any", "any"),
    "sub": (lambda a, b: a - b, np.subtract, "any", "any"),
    "mul": (lambda a, b: a * b, np.multiply, "any", "any"),
    "div": (lambda a, b: a / b, np.divide, "any", "nonzero"),
    "pow": (lambda a, b: a**b, np.power, "positive", "any"),
}
BROADCAST_PAIRS = [
    ((3, 1), (1, 4)),
    ((5,), (2, 5)),
    ((), (3, 4)),
    ((3, 4), ()),
    ((2, 1, 3), (4, 1)),
]


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(pair=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4), seed=seeds)
def test_binary_op_value_and_gradient_under_broadcasting(name, pair, seed):
    forward, reference, domain_a, domain_b = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = sample(rng, domain_a, pair.input_shapes[0]), sample(rng, domain_b, pair.input_shapes[1])
    out = check_grads(forward, a, b, seed=seed)
    assert out.shape == pair.result_shape
    close(out.data, reference(a, b))


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shape_a,shape_b", BROADCAST_PAIRS)
def test_binary_op_named_broadcast_pairs(name, shape_a, shape_b):
    forward, reference, domain_a, domain_b = BINARY[name]
    rng = np.random.default_rng(1)
    a, b = sample(rng, domain_a, shape_a), sample(rng, domain_b, shape_b)
    out = check_grads(forward, a, b)
    close(out.data, reference(a, b))


def test_broadcast_gradient_is_the_sum_over_copies():
    a = mg.Tensor(np.ones((3, 1)), requires_grad=True)
    b = mg.Tensor(np.ones((1, 4)), requires_grad=True)
    (a * b * np.arange(12.0).reshape(3, 4)).sum().backward()
    close(a.grad, [[6.0], [22.0], [38.0]])
    close(b.grad, [[12.0, 15.0, 18.0, 21.0]])


def test_reused_tensor_gets_the_sum_of_its_uses():
    a = sample(np.random.default_rng(2), "nonzero", (3,))
    check_grads(lambda x: x * x + x / (x * x) - x, a)


NUMBER_OPERAND = {  # name: (minigrad forward, numpy reference)
    "x + 2": (lambda x: x + 2, lambda a: a + 2),
    "2 + x": (lambda x: 2 + x, lambda a: 2 + a),
    "x - 2": (lambda x: x - 2, lambda a: a - 2),
    "2 - x": (lambda x: 2 - x, lambda a: 2 - a),
    "x * 2.5": (lambda x: x * 2.5, lambda a: a * 2.5),
    "2.5 * x": (lambda x: 2.5 * x, lambda a: 2.5 * a),
    "x / 2": (lambda x: x / 2, lambda a: a / 2),
    "2 / x": (lambda x: 2 / x, lambda a: 2 / a),
    "x ** 2": (lambda x: x**2, lambda a: a**2),
    "2 ** x": (lambda x: 2**x, lambda a: 2.0**a),
}


@pytest.mark.parametrize("name", list(NUMBER_OPERAND))
def test_python_number_operand_on_either_side(name):
    forward, reference = NUMBER_OPERAND[name]
    a = sample(np.random.default_rng(3), "nonzero", (3, 4))
    out = check_grads(forward, a)
    assert type(out) is mg.Tensor
    close(out.data, reference(a))


ARRAY_OPERAND = {  # name: (forward of a constant ndarray c and a tensor x, numpy reference)
    "c + x": (lambda c, x: c + x, np.add),
    "c - x": (lambda c, x: c - x, np.subtract),
    "c * x": (lambda c, x: c * x, np.multiply),
    "c / x": (lambda c, x: c / x, np.divide),
    "c ** x": (lambda c, x: c**x, np.power),
    "c @ x": (lambda c, x: c @ x.reshape(4, 3), lambda c, a: c @ a.reshape(4, 3)),
    "x - c": (lambda c, x: x - c, lambda c, a: a - c),
}


@pytest.mark.parametrize("name", list(ARRAY_OPERAND))
def test_ndarray_operand_gives_a_tensor(name):
    forward, reference = ARRAY_OPERAND[name]
    rng = np.random.default_rng(4)
    c, a = rng.uniform(0.5, 2, (3, 4)), sample(rng, "nonzero", (3, 4))
    out = check_grads(lambda x: forward(c, x), a)
    assert type(out) is mg.Tensor
    close(out.data, reference(c, a))


def test_tensor_to_tensor_power_gradient_of_exponent_is_zero_at_nonpositive_base():
    a = mg.Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    b = mg.Tensor([2.0, 3.0, 2.0], requires_grad=True)
    out = a**b
    out.sum().backward()
    close(out.data, [4.0, 0.0, 9.0])
    close(a.grad, [-4.0, 0.0, 6.0])
    close(b.grad, [0.0, 0.0, 9.0 * np.log(3.0)])


# ---- matmul -----------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 3, 4), (4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((4, 5), (2, 5, 3)),
]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES)
def test_matmul_value_and_gradient(shape_a, shape_b):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    out = check_grads(lambda x, y: x @ y, a, b)
    assert out.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-12, atol=1e-12)


@FAST
@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    vectors=st.sampled_from(["", "a", "b", "ab"]),
    seed=seeds,
)
def test_matmul_gradient_over_random_shapes(batch, sizes, vectors, seed):
    n, k, m = sizes
    shape_a = (k,) if "a" in vectors else batch.input_shapes[0] + (n, k)
    shape_b = (k,) if "b" in vectors else batch.input_shapes[1] + (k, m)
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    out = check_grads(lambda x, y: x @ y, a, b, seed=seed)
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-12, atol=1e-12)


# ---- subgradients at kinks (documented) -----------------------------------------------------
def grad_of(fn, values):
    x = mg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    fn(x).sum().backward()
    return x.grad


def test_relu_derivative_at_zero_is_zero():
    close(grad_of(lambda x: x.relu(), [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])


def test_abs_derivative_at_zero_is_zero():
    close(grad_of(lambda x: x.abs(), [-1.0, 0.0, 2.0]), [-1.0, 0.0, 1.0])


def test_clip_passes_the_gradient_at_its_bounds_and_stops_it_outside():
    close(grad_of(lambda x: x.clip(0.0, 1.0), [-0.5, 0.0, 0.5, 1.0, 1.5]), [0, 1, 1, 1, 0])


def test_max_splits_the_gradient_evenly_between_ties():
    close(grad_of(lambda x: x.max(), [1.0, 3.0, 3.0]), [0.0, 0.5, 0.5])
    rows = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, 0.0, 3.0]]
    third = 1 / 3
    expected = [[0, 0.5, 0.5], [third, third, third], [1, 0, 0]]
    close(grad_of(lambda x: x.max(axis=1), rows), expected)
    by_column = [[0, 1, 0.5], [0, 0, 0], [1, 0, 0.5]]
    close(grad_of(lambda x: x.max(axis=0, keepdims=True), rows), by_column)


# ---- gradcheck and jacobian -------------------------------------------------------------------
def test_gradcheck_passes_on_a_composite_and_on_float32_inputs():
    rng = np.random.default_rng(6)
    W = mg.Tensor(rng.normal(size=(3, 4)), requires_grad=True, name="W")
    x = mg.Tensor(rng.normal(size=(4, 2)).astype(np.float32), requires_grad=True)
    b = rng.normal(size=(3, 1))  # a constant
    assert mg.gradcheck(lambda W, x, b: ((W @ x + b).tanh() * x.sum(axis=0)).sigmoid(), [W, x, b])


def test_gradcheck_keeps_integer_index_inputs():
    x = mg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert mg.gradcheck(lambda x, i: x[:, i] * x[:, i], [x, np.array([2, 0, 2])])


def wrong_square(x):
    """x ** 2 with a wrong VJP: g x instead of 2 g x."""
    xd = x.data
    return mg.record_op("wrong_square", xd**2, (x,), lambda g: (g * xd,))


def test_gradcheck_raises_on_a_wrong_vjp_naming_input_and_index():
    a = mg.Tensor([1.0, 2.0], requires_grad=True)
    x = mg.Tensor([[0.5, -1.0], [2.0, 3.0]], requires_grad=True, name="x")
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda a, x: mg.concat([a * a, wrong_square(x).reshape(-1)]), [a, x])
    message = str(info.value)
    # the worst entry: x[1, 1] = 3 (output element 5), analytic 3 vs numeric 6
    assert "input 1" in message and "'x'" in message
    assert "index (1, 1)" in message and "output element 5" in message
    analytic = float(re.search(r"analytic (\S+)", message).group(1))
    numeric = float(re.search(r"numeric (\S+)", message).group(1))
    assert analytic == pytest.approx(3.0) and numeric == pytest.approx(6.0)


def test_gradcheck_passes_on_the_same_node_with_the_right_vjp():
    def square(x):
        xd = x.data
        return mg.record_op("square", xd**2, (x,), lambda g: (2 * g * xd,))

    assert mg.gradcheck(square, [mg.Tensor([[0.5, -1.0], [2.0, 3.0]], requires_grad=True)])


def test_jacobian_of_a_linear_map_is_its_matrix():
    W = np.random.default_rng(7).normal(size=(3, 4))
    x = np.random.default_rng(8).normal(size=4)
    close(mg.jacobian(lambda x: W @ x, x), W)
    close(mg.jacobian(lambda x: x @ W.T, x), W)


def test_jacobian_of_tanh_is_diagonal():
    x = np.array([-1.0, 0.2, 0.7, 2.0])
    close(mg.jacobian(lambda x: x.tanh(), x), np.diag(1 - np.tanh(x) ** 2))


def test_jacobian_of_a_column_sum_has_output_then_input_shape():
    J = mg.jacobian(lambda x: x.sum(axis=0), np.ones((2, 3)))
    assert J.shape == (3, 2, 3)
    close(J, np.stack([np.eye(3), np.eye(3)], axis=1))
