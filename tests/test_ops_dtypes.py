"""minigrad.ops keep float32: float32 in gives a float32 value, float32 gradients all along the
backward pass (seen by a hook on an intermediate tensor) and float32 ``.grad``; Python numbers
do not upcast.
"""

import numpy as np
import pytest

import minigrad as mg

FLOAT32_OPS = {  # name: forward of two float32 tensors a, b of shape (3, 4), values in (0.2, 2)
    "neg": lambda a, b: -a,
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: a.log(),
    "sqrt": lambda a, b: a.sqrt(),
    "abs": lambda a, b: a.abs(),
    "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(),
    "relu": lambda a, b: (a - 1).relu(),
    "clip": lambda a, b: a.clip(0.5, 1.5),
    "x ** 2": lambda a, b: a**2,
    "x ** 0.5": lambda a, b: a**0.5,
    "2 ** x": lambda a, b: 2**a,
    "a ** b": lambda a, b: a**b,
    "add": lambda a, b: a + b,
    "add broadcast": lambda a, b: a + b[0],
    "x + 2": lambda a, b: a + 2,
    "sub": lambda a, b: a - b,
    "2 - x": lambda a, b: 2 - a,
    "mul": lambda a, b: a * b,
    "0.5 * x": lambda a, b: 0.5 * a,
    "div": lambda a, b: a / b,
    "2 / x": lambda a, b: 2 / a,
    "matmul": lambda a, b: a @ b.T,
    "matmul vector": lambda a, b: a @ b[1],
    "matmul vectors": lambda a, b: a[0] @ b[1],
    "matmul batched": lambda a, b: a.reshape(3, 2, 2) @ b.reshape(3, 2, 2),
    "sum": lambda a, b: a.sum(),
    "sum axis": lambda a, b: a.sum(axis=0, keepdims=True),
    "mean": lambda a, b: a.mean(),
    "mean axis": lambda a, b: a.mean(axis=(0, 1)),
    "max": lambda a, b: a.max(),
    "max axis": lambda a, b: a.max(axis=-1),
    "reshape": lambda a, b: a.reshape(4, 3),
    "transpose": lambda a, b: a.transpose(1, 0),
    "T": lambda a, b: a.T,
    "slice": lambda a, b: a[1:, ::2],
    "repeated indices": lambda a, b: a[[0, 0, 2]],
    "mask": lambda a, b: a[a.data > 1],
    "concat": lambda a, b: mg.concat([a, b], axis=1),
    "stack": lambda a, b: mg.stack([a, b], axis=-1),
    "where": lambda a, b: mg.where(a.data > 1, a, b),
    "where number": lambda a, b: mg.where(a.data > 1, a, 0.0),
}


@pytest.mark.parametrize("name", list(FLOAT32_OPS))
def test_float32_in_float32_out_and_float32_gradients(name):
    rng = np.random.default_rng(0)
    a_leaf, b_leaf = (
        mg.Tensor(rng.uniform(0.2, 2, (3, 4)).astype(np.float32), requires_grad=True)
        for _ in range(2)
    )
    a, b = a_leaf * 1, b_leaf * 1
    arriving = []
    for x in (a, b):
        x.register_hook(lambda g: arriving.append(g.dtype))
    out = FLOAT32_OPS[name](a, b)
    assert out.dtype == np.float32 and out.data.dtype == np.float32
    (out * rng.normal(size=out.shape).astype(np.float32)).sum().backward()
    assert arriving and all(dtype == np.float32 for dtype in arriving), arriving
    assert a_leaf.grad.dtype == np.float32
    assert b_leaf.grad is None or b_leaf.grad.dtype == np.float32


def test_float64_stays_float64_and_python_numbers_compute_in_float64():
    x = mg.Tensor(np.ones(3), requires_grad=True)
    assert (x * np.float32(2)).dtype == np.float64
    assert (x.sum() + 1).dtype == np.float64
    assert mg.Tensor([1, 2]).dtype == np.float64


def test_astype_converts_the_value_and_converts_the_gradient_back():
    leaf = mg.Tensor(np.array([0.5, -2.0], dtype=np.float32), requires_grad=True)
    x = leaf * 1
    seen = []
    x.register_hook(lambda g: seen.append(g.dtype))
    y = x.astype(np.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * np.array([3.0, 4.0])).sum().backward()
    assert seen == [np.float32]
    assert leaf.grad.dtype == np.float32
    np.testing.assert_array_equal(leaf.grad, [3.0, 4.0])
    mask = x.astype(bool)
    assert mask.dtype == bool and not mask.requires_grad


def test_numpy_scalars_and_lists_keep_float32():
    x = mg.Tensor(np.float32([1.0, 2.0]), requires_grad=True)
    assert (x ** np.float64(2.0)).dtype == np.float32
    assert (x + [1.0, 2.0]).dtype == np.float32
    loss = mg.functional.mse_loss(x, [1.0, 1.0])
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [0.0, 1.0])  # d/dx mean((x - y)^2) = (x - y) for 2 items
