"""mg.einsum: values equal numpy's einsum, gradients equal central differences for every kind of
product (matmul, batched, outer, trace, diagonal, sums, ellipsis with broadcasting, implicit
output, three operands), and the same gradients as the ops it generalises.
"""

import numpy as np
import pytest
from finite_differences import FAST, check_grads, seeds
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg

CASES = {  # spec: operand shapes
    "ij,jk->ik": [(2, 3), (3, 4)],  # matmul
    "bij,bjk->bik": [(2, 3, 4), (2, 4, 2)],  # batched matmul
    "i,j->ij": [(3,), (4,)],  # outer product
    "ii->": [(3, 3)],  # trace
    "ii->i": [(3, 3)],  # diagonal
    "ij->": [(2, 3)],  # sum of everything
    "ij->i": [(2, 3)],  # row sums: j only in the operand
    "ij->ji": [(2, 3)],  # transpose
    "i,i->": [(4,), (4,)],  # dot product
    "i,ij,j->": [(2,), (2, 3), (3,)],  # bilinear form
    "ij,jk,kl->il": [(2, 3), (3, 2), (2, 4)],  # a chain of three
    "ij,jk": [(2, 3), (3, 2)],  # implicit output: "ik"
    "ba": [(2, 3)],  # implicit output sorts the letters: a transpose
    "...ij,...jk->...ik": [(1, 2, 3), (4, 3, 2)],  # batch axes that broadcast
    "...i,...i->...": [(3,), (2, 3)],  # ellipsis of different lengths
    "ij,ij->ij": [(1, 3), (2, 3)],  # a named axis of size 1 broadcast
    "iij,j->i": [(2, 2, 3), (3,)],  # a diagonal and a contraction together
    ",i->i": [(), (3,)],  # a scalar operand
    "ik,kj->ij": [(2, 0), (0, 3)],  # an empty contraction: zeros, and empty gradients
}


@pytest.mark.parametrize("spec", list(CASES))
def test_einsum_value_and_gradient(spec):
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-2, 2, shape) for shape in CASES[spec]]
    out = check_grads(lambda *xs: mg.einsum(spec, *xs), *arrays)
    np.testing.assert_allclose(out.data, np.einsum(spec, *arrays), rtol=1e-12, atol=1e-12)


LETTER_SPECS = [spec for spec in CASES if "..." not in spec]


@pytest.mark.parametrize("spec", LETTER_SPECS)
@FAST
@given(data=st.data(), seed=seeds)
def test_einsum_on_random_sizes(spec, data, seed):
    terms = spec.partition("->")[0].split(",")
    size = {c: data.draw(st.integers(1, 3)) for c in sorted(set("".join(terms)))}
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-2, 2, tuple(size[c] for c in term)) for term in terms]
    out = check_grads(lambda *xs: mg.einsum(spec, *xs), *arrays, seed=seed)
    np.testing.assert_allclose(out.data, np.einsum(spec, *arrays), rtol=1e-12, atol=1e-12)


@FAST
@given(sizes=st.tuples(*[st.integers(1, 4)] * 4), seed=seeds)
def test_einsum_batched_matmul_on_random_sizes_matches_matmul(sizes, seed):
    b, i, j, k = sizes
    rng = np.random.default_rng(seed)
    a, c = rng.uniform(-2, 2, (b, i, j)), rng.uniform(-2, 2, (b, j, k))
    check_grads(lambda x, y: mg.einsum("bij,bjk->bik", x, y), a, c, seed=seed)
    grads = []
    for fn in (lambda x, y: mg.einsum("bij,bjk->bik", x, y), lambda x, y: x @ y):
        x, y = mg.Tensor(a, requires_grad=True), mg.Tensor(c, requires_grad=True)
        (fn(x, y) * np.arange(b * i * k).reshape(b, i, k)).sum().backward()
        grads.append((x.grad, y.grad))
    for via_einsum, via_matmul in zip(*grads):
        np.testing.assert_allclose(via_einsum, via_matmul, rtol=1e-12, atol=1e-12)


def test_trace_gradient_is_the_identity():
    a = mg.Tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    mg.einsum("ii->", a).backward()
    np.testing.assert_array_equal(a.grad, np.eye(3))


def test_only_operands_that_require_grad_get_one():
    a = mg.Tensor(np.ones((2, 3)), requires_grad=True)
    b = mg.Tensor(np.ones((3, 2)))
    mg.einsum("ij,jk->ik", a, b).sum().backward()
    assert b.grad is None
    np.testing.assert_allclose(a.grad, np.full((2, 3), 2.0))


def test_an_operand_changed_in_place_after_the_forward_is_refused():
    a = mg.Tensor(np.ones(3), requires_grad=True)
    w = mg.Tensor(np.ones(3), name="w")
    out = mg.einsum("i,i->", a, w)
    w += 1
    with pytest.raises(RuntimeError, match="'w'.*einsum.*changed in place"):
        out.backward()


@pytest.mark.parametrize("spec, shapes, message", [
    ("ij,jk->ik", [(2, 3), (4, 2)], r"einsum: .*'ij,jk->ik'.*\(2, 3\), \(4, 2\)"),
    ("ij->ik", [(2, 3)], r"einsum: .*'ij->ik'"),
    ("ij,jk->ik", [(2, 3)], r"^einsum: 'ij,jk->ik' names 2 operands, got 1 \(spec"),
])
def test_einsum_errors_name_the_spec_and_shapes(spec, shapes, message):
    with pytest.raises(ValueError, match=message):
        mg.einsum(spec, *[mg.ones(*s) for s in shapes])
