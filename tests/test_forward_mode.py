"""Forward mode: mg.jvp for every primitive op and mg.jacobian(mode="forward") against finite
differences and against reverse mode's rows."""

import numpy as np
import pytest
from primitive_cases import CASES, inputs

import minigrad as mg


def directional_difference(fn, arrays, tangents, eps=1e-6):
    """(f(x + eps t) - f(x - eps t)) / (2 eps): the JVP by central differences."""
    plus = fn(*(mg.Tensor(a + eps * t) for a, t in zip(arrays, tangents))).data
    minus = fn(*(mg.Tensor(a - eps * t) for a, t in zip(arrays, tangents))).data
    return (plus - minus) / (2 * eps)


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_of_every_primitive_matches_finite_differences(name):
    fn = CASES[name][0]
    xs = inputs(name, seed=1)
    rng = np.random.default_rng(2)
    tangents = [rng.standard_normal(x.shape) for x in xs]
    value, pushed = mg.jvp(fn, xs, tangents)
    np.testing.assert_allclose(value.data, fn(*xs).data, rtol=1e-12)
    expected = directional_difference(fn, [x.data for x in xs], tangents)
    assert pushed.shape == value.shape
    np.testing.assert_allclose(pushed.data, expected, rtol=1e-5, atol=1e-7)


def test_jvp_of_a_function_that_ignores_its_input_is_zero():
    value, pushed = mg.jvp(lambda x: (x > 0) * mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, -1.0]),
                           mg.Tensor([1.0, 1.0]))
    np.testing.assert_array_equal(pushed.data, [0.0, 0.0])
    np.testing.assert_array_equal(value.data, [1.0, 0.0])


def test_jvp_refuses_tangents_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"jvp: tangents' shapes \[\(3,\)\]"):
        mg.jvp(lambda x: x * 2, mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, 2.0, 3.0]))


def test_forward_and_reverse_jacobians_agree_with_the_closed_form():
    x = np.array([0.3, -0.2, 0.5])
    A = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    fn = lambda t: (mg.Tensor(A) @ t).tanh()  # noqa: E731
    closed = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    np.testing.assert_allclose(mg.jacobian(fn, x, mode="forward"), closed, atol=1e-12)
    np.testing.assert_allclose(mg.jacobian(fn, x, mode="reverse"), closed, atol=1e-12)
    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward'"):
        mg.jacobian(fn, x, mode="sideways")
