"""minigrad.ops, reductions, shapes and indexing: values equal numpy's, gradients equal central
differences, and shape errors name the op and the shapes.
"""

import itertools

import numpy as np
import pytest
from finite_differences import FAST, check_grads, sample, seeds, shapes
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

REDUCTIONS = {  # method name: (numpy reference, input domain: no ties for max)
    "sum": (np.sum, "any"),
    "mean": (np.mean, "any"),
    "max": (np.max, "distinct"),
}
# Every way to name axes of a 3-D tensor: None, each int (also negative), tuples (also mixed
# signs and unsorted), all axes, and no axis.
AXES_3D = [None, 0, 1, 2, -1, -2, -3, (0,), (0, 1), (0, 2), (1, 2), (2, 0), (-1, 0), (0, 1, 2), ()]


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES_3D)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_over_every_axis_choice(name, axis, keepdims):
    reference, domain = REDUCTIONS[name]
    a = sample(np.random.default_rng(0), domain, (2, 3, 4))
    out = check_grads(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), a)
    expected = reference(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    assert isinstance(out.data, np.ndarray)
    close(out.data, expected)


@pytest.mark.parametrize("name", list(REDUCTIONS))
@FAST
@given(shape=shapes, data=st.data(), keepdims=st.booleans(), seed=seeds)
def test_reduction_over_random_shapes_and_axes(name, shape, data, keepdims, seed):
    reference, domain = REDUCTIONS[name]
    ndim = len(shape)
    if ndim == 0:
        axis = data.draw(st.sampled_from([None, ()]))
    else:
        one = st.integers(-ndim, ndim - 1)
        several = st.lists(one, unique_by=lambda ax: ax % ndim, max_size=ndim).map(tuple)
        axis = data.draw(st.none() | one | several)
    a = sample(np.random.default_rng(seed), domain, shape)
    out = check_grads(lambda x: getattr(x, name)(axis, keepdims), a, seed=seed)
    close(out.data, reference(a, axis=axis, keepdims=keepdims))


def test_reduction_axis_out_of_range_names_op_axis_and_shape():
    x = mg.Tensor(np.ones((2, 3)))
    for name in REDUCTIONS:
        for axis in (2, -3, (0, 2)):
            with pytest.raises(ValueError, match=rf"{name}: axis -?\d is out of range.*\(2, 3\)"):
                getattr(x, name)(axis=axis)


# ---- reshape and transpose -----------------------------------------------------------------------
@FAST
@given(shape=shapes, seed=seeds)
def test_reshape_value_and_gradient(shape, seed):
    a = sample(np.random.default_rng(seed), "any", shape)
    target = tuple(reversed(shape)) + (1,)
    out = check_grads(lambda x: x.reshape(target), a, seed=seed)
    close(out.data, a.reshape(target))
    out = check_grads(lambda x: x.reshape(-1) * 2, a, seed=seed)
    close(out.data, a.reshape(-1) * 2)


def test_reshape_accepts_a_tuple_or_separate_sizes():
    a = np.arange(6.0)
    close(check_grads(lambda x: x.reshape((2, 3)), a).data, a.reshape(2, 3))
    close(check_grads(lambda x: x.reshape(3, -1), a).data, a.reshape(3, 2))


@FAST
@given(shape=shapes, data=st.data(), seed=seeds)
def test_transpose_value_and_gradient(shape, data, seed):
    perm = data.draw(st.permutations(range(len(shape))))
    signed = tuple(ax - len(shape) if data.draw(st.booleans()) else ax for ax in perm)
    a = sample(np.random.default_rng(seed), "any", shape)
    close(check_grads(lambda x: x.transpose(signed), a, seed=seed).data, a.transpose(perm))
    close(check_grads(lambda x: x.transpose(*perm), a, seed=seed).data, a.transpose(perm))
    close(check_grads(lambda x: x.T, a, seed=seed).data, a.T)
    close(check_grads(lambda x: x.transpose(), a, seed=seed).data, a.T)


@pytest.mark.parametrize("perm", list(itertools.permutations(range(3))) + [(3, 0, 2, 1)])
def test_transpose_gradient_uses_the_inverse_permutation(perm):
    shape = (2, 3, 4, 5)[: len(perm)]
    a = sample(np.random.default_rng(3), "any", shape)
    close(check_grads(lambda x: x.transpose(perm), a).data, a.transpose(perm))


# ---- indexing -----------------------------------------------------------------------------
A34 = np.arange(12.0).reshape(3, 4) / 7 - 0.5
INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "step slice": (slice(None), slice(None, None, 2)),
    "int and int": (2, 1),
    "ellipsis": (Ellipsis, 3),
    "new axis": (None, 0),
    "int list, repeated": [0, 0, 2],
    "int array, repeated, 2-D": np.array([[0, 1], [1, 1]]),
    "column int list, repeated": (slice(None), [3, 3, 0]),
    "pairs of int arrays": (np.array([0, 0, 2]), np.array([1, 1, 3])),
    "int tensor": mg.Tensor(np.array([2, 2])),
    "boolean mask": A34 > 0,
    "boolean row mask": np.array([True, False, True]),
    "mask tensor": mg.Tensor(A34 < 0),
}


@pytest.mark.parametrize("name", list(INDICES))
def test_indexing_value_and_gradient(name):
    index = INDICES[name]
    plain = index.data if isinstance(index, mg.Tensor) else index
    out = check_grads(lambda x: x[index], A34)
    assert out.shape == A34[plain].shape
    close(out.data, A34[plain])


def test_repeated_integer_indices_accumulate():
    x = mg.Tensor(np.zeros(4), requires_grad=True)
    x[[1, 1, 1, 3]].sum().backward()
    close(x.grad, [0.0, 3.0, 0.0, 1.0])
    E = mg.Tensor(np.zeros((3, 2)), requires_grad=True)  # an embedding lookup
    (E[np.array([[2, 0], [2, 2]])] * np.arange(8.0).reshape(2, 2, 2)).sum().backward()
    close(E.grad, [[2.0, 3.0], [0.0, 0.0], [10.0, 13.0]])


def test_index_out_of_range_names_getitem_and_shape():
    with pytest.raises(IndexError, match=r"getitem.*\(3, 4\)"):
        mg.Tensor(A34)[5]


# ---- concat, stack, where ------------------------------------------------------------------
@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data(), seed=seeds)
def test_concat_value_and_gradient(shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    rng = np.random.default_rng(seed)
    pieces = [
        sample(rng, "any", shape[: axis % len(shape)] + (n,) + shape[axis % len(shape) + 1 :])
        for n in sizes
    ]
    out = check_grads(lambda *xs: mg.concat(xs, axis=axis), *pieces, seed=seed)
    close(out.data, np.concatenate(pieces, axis=axis))


@FAST
@given(shape=shapes, data=st.data(), count=st.integers(1, 3), seed=seeds)
def test_stack_value_and_gradient(shape, data, count, seed):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    rng = np.random.default_rng(seed)
    pieces = [sample(rng, "any", shape) for _ in range(count)]
    out = check_grads(lambda *xs: mg.stack(xs, axis=axis), *pieces, seed=seed)
    close(out.data, np.stack(pieces, axis=axis))


def test_concat_and_stack_accept_a_list_and_reuse():
    a = sample(np.random.default_rng(1), "any", (2, 3))
    close(check_grads(lambda x: mg.concat([x, x * 2], 1), a).data, np.concatenate([a, 2 * a], 1))
    close(check_grads(lambda x: mg.stack([x, x.T.T], -1), a).data, np.stack([a, a], -1))


@FAST
@given(trio=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where_value_and_gradient_under_broadcasting(trio, seed):
    shape_c, shape_a, shape_b = trio.input_shapes
    rng = np.random.default_rng(seed)
    cond = rng.random(shape_c) < 0.5
    a, b = sample(rng, "any", shape_a), sample(rng, "any", shape_b)
    out = check_grads(lambda x, y: mg.where(cond, x, y), a, b, seed=seed)
    close(out.data, np.where(cond, a, b))


def test_where_with_a_tensor_condition_and_a_number():
    a = sample(np.random.default_rng(2), "any", (3, 4))
    cond = mg.Tensor(a > 0)
    close(check_grads(lambda x: mg.where(cond, x, 0.0), a).data, np.where(a > 0, a, 0.0))
    close(check_grads(lambda x: mg.where(x > 0, 1.0, x), a).data, np.where(a > 0, 1.0, a))


# ---- shape errors name the op and both shapes --------------------------------------------------
def raises_naming(op, *parts):
    pattern = ".*".join([op] + [p.replace("(", r"\(").replace(")", r"\)") for p in parts])
    return pytest.raises(ValueError, match=pattern)


def test_matmul_shape_error_names_both_shapes():
    with raises_naming("matmul", "(2, 3)", "(4, 5)"):
        mg.Tensor(np.ones((2, 3))) @ mg.Tensor(np.ones((4, 5)))
    with raises_naming("matmul", "(3,)", "(4,)"):
        mg.Tensor(np.ones(3)) @ mg.Tensor(np.ones(4))
    with raises_naming("matmul", "()", "(3,)"):
        mg.Tensor(2.0) @ mg.Tensor(np.ones(3))


ELEMENTWISE = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_shape_error_names_op_and_both_shapes(name):
    a, b = mg.Tensor(np.ones((2, 3)), requires_grad=True), mg.Tensor(np.ones(4))
    forward = ELEMENTWISE[name]
    with raises_naming(name, "(2, 3)", "(4,)"):
        forward(a, b)
    with raises_naming(name, "(2, 3)", "(4,)"):
        forward(a, np.ones(4))


def test_reshape_shape_error():
    with raises_naming("reshape", "(2, 3)", "(4,)"):
        mg.Tensor(np.ones((2, 3))).reshape(4)


@pytest.mark.parametrize("axes", [(0, 0), (0, 3), (-3, 0), (0,), (0, 1, 2)])
def test_transpose_bad_axes_error(axes):
    with raises_naming("transpose", str(axes), "(2, 3)"):
        mg.Tensor(np.ones((2, 3))).transpose(axes)


def test_concat_and_stack_shape_errors():
    a, b = mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones((2, 4)))
    with raises_naming("concat", "(2, 3)", "(2, 4)"):
        mg.concat([a, b], axis=0)
    with raises_naming("concat", "(2, 3)", "(2, 4)"):
        mg.concat([a, b], axis=2)
    with raises_naming("stack", "(2, 3)", "(2, 4)"):
        mg.stack([a, b])
    with pytest.raises(ValueError, match="concat"):
        mg.concat([])


def test_where_shape_error():
    with raises_naming("where", "(2,)", "(3,)", "(4,)"):
        mg.where(np.ones(2, dtype=bool), mg.Tensor(np.ones(3)), mg.Tensor(np.ones(4)))


def test_a_reduction_naming_an_axis_twice_is_refused():
    x = mg.Tensor(np.ones((2, 3)), requires_grad=True)
    for reduce in (x.sum, x.mean, x.max):
        with pytest.raises(ValueError, match=r"names an axis twice \(shape \(2, 3\)\)"):
            reduce(axis=(0, -2))
