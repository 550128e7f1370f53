"""minigrad.math_ops (sin ... logsumexp): values equal numpy's, gradients equal central differences
on random shapes and axes, the kink conventions, and errors that name the op and the shape.
"""

import numpy as np
import pytest
from finite_differences import FAST, check_grads, sample, seeds, shapes
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def draw_axis(data, ndim: int, nonempty: bool = False):
    """None, one axis (maybe negative) or a tuple of distinct axes, for a tensor of ``ndim``."""
    if ndim == 0:
        return data.draw(st.sampled_from([None] if nonempty else [None, ()]))
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(one, unique_by=lambda ax: ax % ndim, min_size=int(nonempty),
                       max_size=ndim).map(tuple)
    return data.draw(st.none() | one | several)


# ---- elementwise --------------------------------------------------------------------------------
UNARY = {  # name: (forward, numpy reference, domain away from kinks and poles)
    "sin": (lambda x: x.sin(), np.sin, "any"),
    "cos": (lambda x: x.cos(), np.cos, "any"),
    "log1p": (lambda x: x.log1p(), np.log1p, "positive"),
    "log1p near -1": (lambda x: (x * 0.4).log1p(), lambda a: np.log1p(a * 0.4), "any"),
    "expm1": (lambda x: x.expm1(), np.expm1, "any"),
    "sign": (lambda x: x.sign(), np.sign, "nonzero"),
    "mg.sin": (mg.sin, np.sin, "any"),
}


@pytest.mark.parametrize("name", list(UNARY))
@FAST
@given(shape=shapes, seed=seeds)
def test_unary_value_and_gradient(name, shape, seed):
    forward, reference, domain = UNARY[name]
    a = sample(np.random.default_rng(seed), domain, shape)
    out = check_grads(forward, a, seed=seed)
    close(out.data, reference(a))


def test_sign_has_zero_gradient_everywhere_also_at_zero():
    x = mg.Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    (x.sign() * 5).sum().backward()
    close(x.sign().data, [-1.0, 0.0, 1.0])
    close(x.grad, [0.0, 0.0, 0.0])


def test_log1p_and_expm1_keep_digits_that_log_and_exp_lose():
    tiny = mg.Tensor([1e-12])
    assert abs(tiny.log1p().item() - 1e-12) < 1e-24
    assert abs(tiny.expm1().item() - 1e-12) < 1e-24


# ---- maximum, minimum --------------------------------------------------------------------------
def apart(rng, shape, offset):
    """Values on a grid of 0.5 plus ``offset`` plus < 0.1: two draws with offsets 0 and 0.25 are
    at least 0.15 apart, however they broadcast against each other (no ties)."""
    return rng.integers(-4, 4, shape) * 0.5 + offset + rng.uniform(0, 0.1, shape)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@FAST
@given(pair=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), seed=seeds)
def test_maximum_minimum_value_and_gradient_with_broadcasting(name, pair, seed):
    rng = np.random.default_rng(seed)
    a, b = apart(rng, pair.input_shapes[0], 0.0), apart(rng, pair.input_shapes[1], 0.25)
    out = check_grads(getattr(mg, name), a, b, seed=seed)
    close(out.data, getattr(np, name)(a, b))
    method = check_grads(lambda x, y: getattr(x, name)(y), a, b, seed=seed)
    close(method.data, out.data)


def test_maximum_with_a_number_and_ties_split_evenly():
    x = mg.Tensor([1.0, 3.0, 5.0], requires_grad=True)
    mg.maximum(x, 3.0).sum().backward()
    close(x.grad, [0.0, 0.5, 1.0])  # the tie at 3 gives half to x, half to the constant
    a, b = mg.Tensor([2.0, 1.0], requires_grad=True), mg.Tensor([2.0, 4.0], requires_grad=True)
    mg.minimum(a, b).sum().backward()
    close(a.grad, [0.5, 1.0])
    close(b.grad, [0.5, 0.0])


# ---- reductions --------------------------------------------------------------------------------
REDUCTIONS = {  # name: (forward(x, axis, keepdims), numpy reference, domain)
    "min": (lambda x, ax, k: x.min(ax, k), np.min, "distinct"),
    "prod": (lambda x, ax, k: x.prod(ax, k), np.prod, "any"),
    "logsumexp": (lambda x, ax, k: x.logsumexp(ax, k),
                  lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis, keepdims=keepdims)),
                  "any"),
    "var": (lambda x, ax, k: x.var(ax, keepdims=k), np.var, "any"),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@FAST
@given(shape=shapes, data=st.data(), keepdims=st.booleans(), seed=seeds)
def test_reduction_over_random_shapes_and_axes(name, shape, data, keepdims, seed):
    forward, reference, domain = REDUCTIONS[name]
    axis = draw_axis(data, len(shape))
    a = sample(np.random.default_rng(seed), domain, shape)
    out = check_grads(lambda x: forward(x, axis, keepdims), a, seed=seed)
    expected = reference(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["var", "std"])
@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), data=st.data(),
       ddof=st.integers(0, 1), keepdims=st.booleans(), seed=seeds)
def test_var_std_with_ddof(name, shape, data, ddof, keepdims, seed):
    axis = draw_axis(data, len(shape), nonempty=True)  # >= 2 values: std > 0, n - ddof > 0
    a = sample(np.random.default_rng(seed), "distinct", shape)
    out = check_grads(lambda x: getattr(x, name)(axis, ddof=ddof, keepdims=keepdims), a,
                      seed=seed)
    np.testing.assert_allclose(out.data, getattr(np, name)(a, axis, ddof=ddof, keepdims=keepdims),
                               rtol=1e-12)


def test_var_std_values_numpy_default_and_pytorch_unbiased():
    x = mg.Tensor([1.0, 3.0])
    assert x.var().item() == 1.0 and x.var(ddof=1).item() == 2.0
    assert x.std().item() == 1.0


def test_std_of_equal_values_has_an_undefined_gradient_var_a_zero_one():
    x = mg.Tensor([2.0, 2.0], requires_grad=True)
    x.std().backward()
    assert np.isnan(x.grad).all()  # 0 / 0, as PyTorch gives
    x.grad = None
    x.var().backward()
    close(x.grad, [0.0, 0.0])


@FAST
@given(shape=shapes, data=st.data(), seed=seeds)
def test_cumsum_value_and_gradient(shape, data, seed):
    axis = None if not shape else data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    a = sample(np.random.default_rng(seed), "any", shape)
    out = check_grads(lambda x: x.cumsum(axis), a, seed=seed)
    close(out.data, np.cumsum(a, axis=axis))


def test_min_splits_ties_evenly_like_max():
    x = mg.Tensor([[1.0, 1.0, 2.0], [3.0, 0.0, 0.0]], requires_grad=True)
    x.min(axis=1).sum().backward()
    close(x.grad, [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])


def test_prod_gradient_is_the_product_of_the_others_also_with_zeros():
    for values, expected in [([0.0, 2.0, 3.0], [6.0, 0.0, 0.0]), ([0.0, 2.0, 0.0], [0, 0, 0]),
                             ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0])]:
        x = mg.Tensor(values, requires_grad=True)
        x.prod().backward()
        close(x.grad, expected)
    check_grads(lambda x: x.prod(axis=(0, 2)), np.array([[[0.0, 1.5], [2.0, -1.0]]] * 2))


def test_logsumexp_does_not_overflow_and_handles_minus_infinity():
    x = mg.Tensor([1000.0, 1000.0], requires_grad=True)
    out = x.logsumexp()
    out.backward()
    close(out.data, 1000 + np.log(2))
    close(x.grad, [0.5, 0.5])
    assert mg.Tensor([-np.inf, -np.inf]).logsumexp().item() == -np.inf


def test_argmax_argmin_are_int_tensors_without_gradient():
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    x = mg.Tensor(a, requires_grad=True)
    for name in ("argmax", "argmin"):
        for axis in (None, 0, 1, -1):
            for keepdims in (False, True):
                got = getattr(x, name)(axis=axis, keepdims=keepdims)
                assert got.dtype == np.int64 and not got.requires_grad and got.op is None
                np.testing.assert_array_equal(
                    got.data, getattr(np, name)(a, axis=axis, keepdims=keepdims))
    assert x.argmax(axis=1).data.tolist() == [1, 0]  # a tie: the first index wins
    assert mg.argmin(x).item() == 4
    picked = x[np.arange(2), x.argmax(axis=1)]  # an index, as in PyTorch
    close(picked.data, [5.0, 7.0])


def test_float32_stays_float32():
    a = mg.Tensor(np.linspace(0.2, 1.5, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    b = mg.Tensor(np.full((2, 3), 0.9, dtype=np.float32), requires_grad=True)
    outs = [a.sin(), a.cos(), a.sign(), a.log1p(), a.expm1(), a.min(1), a.prod(0), a.cumsum(1),
            a.var(1), a.std(), a.logsumexp(0), mg.maximum(a, b), mg.minimum(a, 0.5),
            mg.einsum("ij,ij->i", a, b)]
    for out in outs:
        assert out.dtype == np.float32, out.op
        a.grad = b.grad = None
        out.sum().backward()
        assert a.grad.dtype == np.float32, out.op


@pytest.mark.parametrize("call, message", [
    (lambda x: x.min(axis=2), r"min: axis 2 is out of range for shape \(2, 3\)"),
    (lambda x: mg.Tensor(np.ones((0, 2))).min(), r"min: the tensor is empty \(shape \(0, 2\)\)"),
    (lambda x: x.argmax(axis=-3), r"argmax: axis -3 is out of range for shape \(2, 3\)"),
    (lambda x: x.prod(axis=(0, 0)), r"prod: axis \(0, 0\) names an axis twice"),
    (lambda x: x.cumsum(axis=5), r"cumsum: axis 5 is out of range for shape \(2, 3\)"),
    (lambda x: x.var(axis=0, ddof=2), r"var: ddof=2 leaves no degrees of freedom for 2 values"),
    (lambda x: x.std(ddof=6), r"std: ddof=6 .* 6 values \(shape \(2, 3\)"),
    (lambda x: mg.maximum(x, mg.ones(3, 2)), r"maximum: shapes \(2, 3\) and \(3, 2\) do not"),
])
def test_errors_name_the_op_and_the_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call(mg.ones(2, 3))


def test_reference_backward_agrees_on_a_graph_of_the_new_ops():
    """The chain rule alone (mg.reference_backward) and the fast backward give the same
    gradients through every new primitive, broadcast_to's engine-side sum included."""
    rng = np.random.default_rng(3)
    arrays = [rng.uniform(0.2, 1.5, (2, 3)), rng.uniform(-1, 1, (3,)), rng.uniform(-1, 1, (3, 2))]

    def loss(a, b, w):
        h = mg.maximum(a.sin() * b.expand(2, 3), a.cos()).log1p() + a.expm1().cumsum(axis=1)
        h = mg.pad(h.repeat(1, 2), 1).flatten().unsqueeze(0).squeeze(0)
        z = mg.einsum("ij,jk->ik", h.view(4, 8)[1:3, 2:5], w)  # inside the padding
        parts = z.split(1, axis=1)
        return (parts[0].logsumexp() + parts[1].prod() + z.var(ddof=1) + z.std(axis=0).sum()
                + mg.minimum(z, 0.1).min() + z.sign().sum())

    grads = []
    for run in (lambda out: out.backward(), mg.reference_backward):
        xs = [mg.Tensor(a.copy(), requires_grad=True) for a in arrays]
        run(loss(*xs))
        grads.append([x.grad for x in xs])
    for fast, reference in zip(*grads):
        np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-15)
    check_grads(loss, *arrays)
