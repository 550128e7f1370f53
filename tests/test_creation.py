"""Making tensors with PyTorch's names (mg.tensor, zeros, ones, full, arange, eye, randn, ..._like)
and the Tensor methods PyTorch users reach for (requires_grad_, float, int, zero_).
"""

import numpy as np
import pytest

import minigrad as mg


@pytest.mark.parametrize("make, expected", [
    (lambda: mg.zeros(2, 3), np.zeros((2, 3))),
    (lambda: mg.zeros((2, 3)), np.zeros((2, 3))),
    (lambda: mg.zeros([2, 3]), np.zeros((2, 3))),
    (lambda: mg.zeros(np.int64(4)), np.zeros(4)),
    (lambda: mg.zeros(), np.zeros(())),
    (lambda: mg.ones(3), np.ones(3)),
    (lambda: mg.ones((1, 2), dtype=np.float32), np.ones((1, 2), dtype=np.float32)),
    (lambda: mg.full((2, 2), 7.0), np.full((2, 2), 7.0)),
    (lambda: mg.full(3, 0.5), np.full(3, 0.5)),
    (lambda: mg.eye(2), np.eye(2)),
    (lambda: mg.eye(2, 3), np.eye(2, 3)),
    (lambda: mg.arange(3), np.arange(3)),
    (lambda: mg.arange(1, 7, 2), np.arange(1, 7, 2)),
    (lambda: mg.arange(0, 1, 0.25), np.arange(0, 1, 0.25)),
    (lambda: mg.arange(3.0), np.arange(3.0)),
    (lambda: mg.zeros_like(mg.ones(2, 3, dtype=np.float32)), np.zeros((2, 3), np.float32)),
    (lambda: mg.ones_like(np.zeros(2)), np.ones(2)),
    (lambda: mg.ones_like(mg.zeros(2), dtype=np.int64), np.ones(2, dtype=np.int64)),
    (lambda: mg.tensor([1.0, 2.0]), np.array([1.0, 2.0])),
    (lambda: mg.tensor([1, 2]), np.array([1.0, 2.0])),  # Python numbers: float64
    (lambda: mg.tensor([1, 2], dtype=np.int64), np.array([1, 2])),
    (lambda: mg.tensor(np.ones(2, np.float32)), np.ones(2, np.float32)),
    (lambda: mg.tensor(3.5), np.array(3.5)),
])
def test_values_shapes_and_dtypes(make, expected):
    t = make()
    assert isinstance(t, mg.Tensor) and t.is_leaf and not t.requires_grad
    assert t.shape == expected.shape and t.dtype == expected.dtype
    np.testing.assert_array_equal(t.data, expected)


@pytest.mark.parametrize("make", [
    lambda: mg.tensor([1.0, 2.0], requires_grad=True),
    lambda: mg.zeros(2, requires_grad=True),
    lambda: mg.ones(2, requires_grad=True),
    lambda: mg.full(2, 3.0, requires_grad=True),
    lambda: mg.arange(0.0, 2.0, requires_grad=True),
    lambda: mg.eye(1, 2, requires_grad=True),
    lambda: mg.zeros_like(mg.ones(2), requires_grad=True),
    lambda: mg.ones_like(mg.ones(2), requires_grad=True),
    lambda: mg.randn(2, rng=0, requires_grad=True),
])
def test_requires_grad_keyword_makes_a_leaf_that_gets_gradients(make):
    t = make()
    assert t.is_leaf and t.requires_grad
    (t * mg.tensor([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(np.ravel(t.grad), [2.0, 3.0])


def test_tensor_copies_its_data():
    source = np.array([1.0, 2.0])
    t = mg.tensor(source)
    source[0] = 100.0
    assert t.data[0] == 1.0
    u = mg.tensor(t)
    t.data[1] = 50.0
    assert u.data[1] == 2.0 and u.is_leaf


def test_randn_follows_the_generator_and_the_seed():
    a = mg.randn(2, 3, rng=np.random.default_rng(5))
    b = mg.randn((2, 3), rng=5)
    np.testing.assert_array_equal(a.data, np.random.default_rng(5).standard_normal((2, 3)))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float64 and mg.randn(4, rng=0, dtype=np.float32).dtype == np.float32
    rng = np.random.default_rng(1)
    first, second = mg.randn(3, rng=rng), mg.randn(3, rng=rng)  # the generator moves on
    assert not np.array_equal(first.data, second.data)
    assert mg.randn(2).shape == (2,)


@pytest.mark.parametrize("make, error, message", [
    (lambda: mg.zeros(2, -1), ValueError, r"zeros: a shape has no negative sizes, got \(2, -1\)"),
    (lambda: mg.ones(2.5), TypeError, r"ones: a shape is whole numbers, got \(2.5,\)"),
    (lambda: mg.randn("3"), TypeError, r"randn: a shape is whole numbers"),
    (lambda: mg.full((2, -2), 1.0), ValueError, r"full: a shape has no negative sizes"),
    (lambda: mg.eye(-1), ValueError, r"eye: a shape has no negative sizes"),
    (lambda: mg.arange(0, 3, 0), ValueError, r"arange: step must not be 0"),
    (lambda: mg.arange(3, requires_grad=True), TypeError, r"only float tensors can require grad"),
])
def test_bad_arguments_are_refused_by_name(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---- Tensor methods ---------------------------------------------------------------------------
def test_requires_grad_makes_a_parameter_that_gradcheck_accepts():
    w = mg.zeros(3).requires_grad_()
    assert w.requires_grad and w.is_leaf
    x = mg.tensor([0.1, 0.2, 0.3]).requires_grad_()
    assert mg.gradcheck(lambda x: (x.sin() * mg.arange(1.0, 4.0)).sum(), [x])
    (w * mg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0, 3.0])
    assert w.requires_grad_(False) is w and not w.requires_grad


def test_requires_grad_refuses_non_leaves_and_integers():
    y = mg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"requires_grad_: only a float leaf .*op='mul'"):
        y.requires_grad_()
    with pytest.raises(RuntimeError, match=r"requires_grad_: only a float leaf .*int64"):
        mg.arange(3).requires_grad_()


def test_float_and_int_of_one_element():
    assert float(mg.tensor([2.5])) == 2.5 and isinstance(float(mg.tensor(2.5)), float)
    assert int(mg.tensor([[-2.7]])) == -2 and int(mg.arange(5)[3]) == 3
    x = mg.tensor([1.5], requires_grad=True)
    assert float(x * 2) == 3.0  # a graph node converts too
    for convert in (float, int):
        with pytest.raises(ValueError, match=r"one-element tensor .* shape is \(2, 3\)"):
            convert(mg.zeros(2, 3))


def test_zero_is_in_place_where_in_place_operators_are_allowed():
    b = mg.ones(3)
    assert b.zero_() is b and b.data.tolist() == [0.0, 0.0, 0.0]
    w = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="zero_: .*requires grad.*no_grad"):
        w.zero_()
    assert w.data.tolist() == [1.0, 1.0]
    with mg.no_grad():
        w.zero_()
    assert w.data.tolist() == [0.0, 0.0]


def test_zero_bumps_the_version_so_backward_refuses_a_stale_graph():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    version = w.version
    with mg.no_grad():
        w.zero_()
    assert w.version == version + 1
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
