"""Random graphs with shared subexpressions against central finite differences.

Each program draws ops that read any earlier value, so values are reused many times and
gradients meet at every kind of node: the accumulation (and its in-place shortcut) must give the
same numbers as finite differences.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg

SHAPE = (2, 3)
MASK = np.array([[True, False, True], [False, False, True]])
UNARY = {
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "exp": lambda x: (x * 0.3).exp(),
    "square": lambda x: x**2,
    "neg": lambda x: -x,
    "row_sum": lambda x: x.sum(axis=1, keepdims=True),  # broadcasts back in later ops
    "col_mean": lambda x: x.mean(axis=0),
    "transpose_matmul": lambda x: x @ x.T @ x * 0.2,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "where": lambda a, b: mg.where(MASK, a, b),  # a fixed mask: no kinks for the differences
}

programs = st.lists(
    st.tuples(
        st.sampled_from(sorted(UNARY) + sorted(BINARY)),
        st.integers(min_value=0, max_value=10**6),
        st.integers(min_value=0, max_value=10**6),
    ),
    min_size=1,
    max_size=12,
)


def run(program, inputs):
    values = list(inputs)
    for name, i, j in program:
        a, b = values[i % len(values)], values[j % len(values)]
        out = UNARY[name](a) if name in UNARY else BINARY[name](a, b)
        if out.shape != SHAPE:
            out = out + values[0] * 0.0  # back to the common shape (broadcasting)
        values.append(out)
    total = values[-1]
    for v in values[len(inputs):-1:2]:  # several outputs share the same subexpressions
        total = total + v * 0.5
    return total.sum()


@settings(deadline=None, max_examples=40)
@given(program=programs, seed=st.integers(0, 2**16))
def test_random_programs_match_finite_differences(program, seed):
    rng = np.random.default_rng(seed)
    inputs = [mg.Tensor(rng.uniform(-1, 1, SHAPE), requires_grad=True) for _ in range(3)]
    assert mg.gradcheck(lambda *xs: run(program, xs), inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


@settings(deadline=None, max_examples=25)
@given(program=programs, seed=st.integers(0, 2**16))
def test_backward_twice_with_retain_graph_doubles_every_gradient(program, seed):
    rng = np.random.default_rng(seed)
    inputs = [mg.Tensor(rng.uniform(-1, 1, SHAPE), requires_grad=True) for _ in range(3)]
    loss = run(program, inputs)
    loss.backward(retain_graph=True)
    once = [None if x.grad is None else x.grad.copy() for x in inputs]
    loss.backward()
    for x, g in zip(inputs, once):
        if g is not None:
            np.testing.assert_allclose(x.grad, 2 * g, rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=40)
@given(program=programs, seed=st.integers(0, 2**16))
def test_fast_backward_equals_the_reference_chain_rule(program, seed):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1, 1, (3, *SHAPE))
    fast = [mg.Tensor(v, requires_grad=True) for v in values]
    slow = [mg.Tensor(v, requires_grad=True) for v in values]
    run(program, fast).backward()
    mg.reference_backward(run(program, slow))
    for a, b in zip(fast, slow):
        assert (a.grad is None) == (b.grad is None)
        if b.grad is not None:
            error = np.linalg.norm(a.grad - b.grad) / max(np.linalg.norm(b.grad), 1e-300)
            assert error <= 1e-12
