"""minigrad.functional: softmax, log_softmax, cross_entropy, mse_loss against numpy references,
their gradients against central differences and closed forms, and their errors.
"""

import numpy as np
import pytest
from finite_differences import FAST, check_grads, seeds
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import functional as F


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def np_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_cross_entropy(z, y):
    """-log softmax(z)[target] per row, computed without any minigrad code."""
    return -np_log_softmax(z, axis=1)[np.arange(len(y)), y]


logit_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


# ---- softmax and log_softmax -------------------------------------------------------------
@pytest.mark.parametrize(
    "fn,reference",
    [(F.softmax, lambda z, ax: np.exp(np_log_softmax(z, ax))), (F.log_softmax, np_log_softmax)],
)
@FAST
@given(shape=logit_shapes, data=st.data(), seed=seeds)
def test_softmax_and_log_softmax_value_and_gradient(fn, reference, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    z = np.random.default_rng(seed).normal(scale=3, size=shape)
    out = check_grads(lambda x: fn(x, axis=axis), z, seed=seed)
    close(out.data, reference(z, axis))


def test_softmax_rows_sum_to_one_and_default_axis_is_last():
    z = np.random.default_rng(0).normal(size=(2, 3, 5))
    p = F.softmax(mg.Tensor(z))
    close(p.data.sum(axis=-1), np.ones((2, 3)))
    close(p.data, np.exp(np_log_softmax(z, -1)))
    close(F.softmax(mg.Tensor(z), axis=0).data.sum(axis=0), np.ones((3, 5)))


def test_log_softmax_is_finite_for_huge_logits():
    z = mg.Tensor([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]], requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
        out = F.log_softmax(z)
        (out * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    close(out.data, [[0.0, -2000.0, -1000.0], [-np.log(2), -np.log(2), -2000.0 - np.log(2)]])
    close(out.data, np_log_softmax(z.data))
    assert np.isfinite(z.grad).all()
    # d/dz_j sum_i w_i log_softmax_i = w_j - softmax_j sum_i w_i
    close(z.grad, [[1.0 - 6.0, 2.0, 3.0], [4.0 - 7.5, 5.0 - 7.5, 6.0]])
    close(F.softmax(mg.Tensor([-1000.0, 1000.0, 1000.0])).data, [0.0, 0.5, 0.5])


def test_softmax_float32_stays_float32():
    z = mg.Tensor(np.array([[1000.0, 0.0, -1.0]], dtype=np.float32), requires_grad=True)
    for fn in (F.softmax, F.log_softmax):
        out = fn(z)
        assert out.dtype == np.float32 and np.isfinite(out.data).all()
        out.sum().backward()
        assert z.grad.dtype == np.float32


# ---- cross_entropy -------------------------------------------------------------------------------
@FAST
@given(
    n=st.integers(1, 5),
    classes=st.integers(1, 5),
    seed=seeds,
    reduction=st.sampled_from(["mean", "sum", "none"]),
)
def test_cross_entropy_value_and_gradient(n, classes, seed, reduction):
    rng = np.random.default_rng(seed)
    z, y = rng.normal(scale=3, size=(n, classes)), rng.integers(0, classes, n)
    out = check_grads(lambda x: F.cross_entropy(x, y, reduction=reduction), z, seed=seed)
    per_row = np_cross_entropy(z, y)
    close(out.data, {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction])


@pytest.mark.parametrize("reduction,scale", [("mean", 1 / 4), ("sum", 1.0)])
def test_cross_entropy_gradient_is_softmax_minus_one_hot(reduction, scale):
    rng = np.random.default_rng(1)
    z = mg.Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    y = np.array([2, 0, 2, 1])
    loss = F.cross_entropy(z, y, reduction=reduction)
    assert loss.shape == ()
    loss.backward()
    one_hot = np.eye(3)[y]
    close(z.grad, (np.exp(np_log_softmax(z.data)) - one_hot) * scale)


def test_cross_entropy_default_is_mean_and_targets_may_be_lists_or_tensors():
    z = np.random.default_rng(2).normal(size=(3, 4))
    y = [3, 0, 3]
    expected = np_cross_entropy(z, np.array(y)).mean()
    close(F.cross_entropy(mg.Tensor(z), y).data, expected)
    close(F.cross_entropy(mg.Tensor(z), np.array(y)).data, expected)
    close(F.cross_entropy(mg.Tensor(z), mg.Tensor(np.array(y))).data, expected)


def test_cross_entropy_is_finite_for_huge_logits_and_passes_gradcheck():
    z = mg.Tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = F.cross_entropy(z, [1, 1], reduction="none")
    close(loss.data, [2000.0, 0.0])
    z = mg.Tensor(np.random.default_rng(3).normal(size=(3, 4)), requires_grad=True)
    assert mg.gradcheck(F.cross_entropy, [z, np.array([0, 3, 3])])


def test_cross_entropy_float32():
    z = mg.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(z, [0, 2])
    assert loss.dtype == np.float32
    loss.backward()
    assert z.grad.dtype == np.float32


@pytest.mark.parametrize("targets", [[0, 3], [-1, 0], [0, 0, 1], [[0], [1]]])
def test_cross_entropy_rejects_bad_targets(targets):
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(mg.Tensor(np.zeros((2, 3))), targets)


def test_cross_entropy_rejects_float_targets_and_bad_logits():
    with pytest.raises(TypeError, match="cross_entropy.*integer"):
        F.cross_entropy(mg.Tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"cross_entropy.*\(3,\)"):
        F.cross_entropy(mg.Tensor(np.zeros(3)), [0])
    with pytest.raises(ValueError, match=r"cross_entropy.*\(2, 3, 4\)"):
        F.cross_entropy(mg.Tensor(np.zeros((2, 3, 4))), [0, 1])


@pytest.mark.parametrize(
    "fn",
    [
        lambda r: F.cross_entropy(mg.Tensor(np.zeros((2, 3))), [0, 1], r),
        lambda r: F.mse_loss(mg.Tensor(np.zeros(2)), np.ones(2), r),
    ],
)
@pytest.mark.parametrize("reduction", ["avg", "MEAN", None])
def test_bad_reduction_names_the_choices(fn, reduction):
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\)"):
        fn(reduction)


# ---- mse_loss ---------------------------------------------------------------------------------
@FAST
@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    seed=seeds,
    reduction=st.sampled_from(["mean", "sum", "none"]),
)
def test_mse_loss_value_and_gradient_for_both_operands(shape, seed, reduction):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=shape), rng.normal(size=shape)
    out = check_grads(lambda x, y: F.mse_loss(x, y, reduction=reduction), a, b, seed=seed)
    squares = (a - b) ** 2
    close(out.data, {"mean": squares.mean(), "sum": squares.sum(), "none": squares}[reduction])


def test_mse_loss_default_is_mean_with_gradient_two_residuals_over_n():
    a = mg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    target = np.array([[0.0, 2.0], [5.0, 4.5]])
    loss = F.mse_loss(a, target)
    close(loss.data, (1 + 0 + 4 + 0.25) / 4)
    loss.backward()
    close(a.grad, 2 * (a.data - target) / 4)


def test_mse_loss_float32_and_shape_mismatch():
    a = mg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    loss = F.mse_loss(a, np.zeros(3, dtype=np.float32))
    assert loss.dtype == np.float32
    loss.backward()
    assert a.grad.dtype == np.float32
    with pytest.raises(ValueError, match=r"mse_loss.*\(3,\).*\(3, 1\)"):
        F.mse_loss(a, np.zeros((3, 1)))
