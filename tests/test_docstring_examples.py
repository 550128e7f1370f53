"""Every new op, creation function and loss carries a runnable example in its docstring, written
``expression`` is ``value``; each one is evaluated here and must hold. Primitives also carry
their formula and its derivative (``dL/d...``).
"""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import creation, einsum_ops, functional, math_ops, shape_ops

EXAMPLE = re.compile(r"``([^`]+)``\s+is\s+``([^`]+)``")
PRIMITIVES = [
    math_ops.sin, math_ops.cos, math_ops.sign, math_ops.log1p, math_ops.expm1, math_ops.maximum,
    math_ops.minimum, math_ops.min_, math_ops.prod, math_ops.cumsum, math_ops.var, math_ops.std,
    math_ops.logsumexp, shape_ops.reshape, shape_ops.squeeze, shape_ops.unsqueeze,
    shape_ops.flatten, shape_ops.broadcast_to, shape_ops.repeat, shape_ops.split, shape_ops.pad,
    einsum_ops.einsum,
]
OTHERS = [
    math_ops.argmax, math_ops.argmin, creation.tensor, creation.zeros, creation.ones,
    creation.full, creation.arange, creation.eye, creation.zeros_like, creation.ones_like,
    creation.randn, functional.nll_loss, functional.binary_cross_entropy, functional.relu,
    functional.tanh, functional.sigmoid,
]
A, B = mg.randn(2, 3, rng=0), mg.randn(3, 4, rng=1)  # the operands einsum's example names
NAMESPACE = {"mg": mg, "np": np, "Tensor": mg.Tensor, "F": functional, "A": A, "B": B}


def plain(value):
    return np.asarray(value.data if isinstance(value, mg.Tensor) else value, dtype=float)


@pytest.mark.parametrize("fn", PRIMITIVES + OTHERS, ids=lambda fn: fn.__name__)
def test_docstring_examples_hold(fn):
    examples = EXAMPLE.findall(fn.__doc__)
    assert examples, f"{fn.__name__} has no ``expression`` is ``value`` example"
    for expression, value in examples:
        actual, expected = eval(expression, NAMESPACE), eval(value, NAMESPACE)
        np.testing.assert_allclose(plain(actual), plain(expected), rtol=1e-12,
                                   err_msg=f"{fn.__name__}: {expression}")


@pytest.mark.parametrize("fn", PRIMITIVES, ids=lambda fn: fn.__name__)
def test_primitive_docstrings_give_the_derivative(fn):
    assert "dL/d" in fn.__doc__


def test_tensor_methods_are_the_op_functions():
    assert mg.Tensor.sin is math_ops.sin and mg.Tensor.min is math_ops.min_
    assert mg.Tensor.view is shape_ops.reshape and mg.Tensor.expand is shape_ops.broadcast_to
