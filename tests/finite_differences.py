"""Helpers of the op tests: inputs away from kinks, and backward() checked by central differences.

The numeric reference perturbs one element of a Tensor's data at a time and re-runs the forward
under ``mg.no_grad()``: d sum(f(x) * R) / dx_k ~ (F(x + eps e_k) - F(x - eps e_k)) / (2 eps), in
float64. ``R`` is a fixed random array, so every output element is weighted differently and a VJP
that mixes up output positions cannot pass.
"""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

EPS = 1e-6
FAST = settings(deadline=None, max_examples=25)
seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
CLIP_BOUNDS = (-0.5, 0.8)


def sample(rng: np.random.Generator, domain: str, shape: tuple[int, ...]) -> np.ndarray:
    """Random float64 values in ``domain``, each at least 0.1 from the op's kinks and poles.

    any: (-2, 2); positive: (0.2, 2) for log, sqrt, fractional powers and bases;
    nonzero: |x| in (0.1, 2) for abs, relu, division; clip: (-1.5, 1.5) but >= 0.1 from
    CLIP_BOUNDS; distinct: spaced >= 0.1 apart (no max ties).
    """
    if domain == "any":
        return rng.uniform(-2, 2, shape)
    if domain == "positive":
        return rng.uniform(0.2, 2, shape)
    if domain == "nonzero":
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0) * rng.uniform(0.1, 2, shape)
    if domain == "clip":
        x = rng.uniform(-1.5, 1.5, shape)
        for bound in CLIP_BOUNDS:
            x = np.where(np.abs(x - bound) < 0.1, x + np.where(x >= bound, 0.1, -0.1), x)
        return x
    if domain == "distinct":
        size = int(np.prod(shape))
        return (rng.permutation(size) * 0.2 - size * 0.1 + rng.uniform(0, 0.1, size)).reshape(shape)
    raise ValueError(domain)


def numeric_grads(fn, inputs: list[mg.Tensor], weights: np.ndarray) -> list[np.ndarray]:
    """d sum(fn(*inputs) * weights) / d input, by central differences, for every input."""
    grads = []
    with mg.no_grad():
        for x in inputs:
            flat = x.data.reshape(-1)  # a view: writing it perturbs the input
            grad = np.zeros(flat.size)
            for k in range(flat.size):
                saved = flat[k]
                flat[k] = saved + EPS
                plus = np.sum(fn(*inputs).data * weights)
                flat[k] = saved - EPS
                minus = np.sum(fn(*inputs).data * weights)
                flat[k] = saved
                grad[k] = (plus - minus) / (2 * EPS)
            grads.append(grad.reshape(x.shape))
    return grads


def check_grads(fn, *arrays, seed: int = 0, rtol: float = 1e-5, atol: float = 1e-6) -> mg.Tensor:
    """Assert that backward() of sum(fn(*xs) * R) equals central differences for each input.

    ``arrays`` become float64 leaves that require grad; returns fn's output (for value checks).
    """
    xs = [mg.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*xs)
    assert isinstance(out, mg.Tensor) and out.requires_grad
    weights = np.random.default_rng(seed).normal(size=out.shape)
    (out * weights).sum().backward()
    expected = numeric_grads(fn, xs, weights)
    for i, (x, numeric) in enumerate(zip(xs, expected, strict=True)):
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.shape == x.shape, f"input {i}: grad shape {x.grad.shape} != {x.shape}"
        np.testing.assert_allclose(x.grad, numeric, rtol=rtol, atol=atol, err_msg=f"input {i}")
    return out
