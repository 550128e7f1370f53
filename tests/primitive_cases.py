"""Every primitive op as a small function of two float64 inputs, away from kinks and edges.

Shared by the second-derivative and forward-mode tests: ``CASES[name] = (fn, shapes, low, high)``;
inputs are drawn uniformly in [low, high] (positive where log, sqrt or pow need it), and ``b``
broadcasts against ``a`` wherever the op allows, so the engine's unbroadcast is exercised too.
"""

import numpy as np

import minigrad as mg
from minigrad import functional as F

A, B, ROW = (3, 4), (4,), (1, 4)
MASK = np.array([[True, False, True, False], [False, True, True, False], [True] * 4])
PICK = np.array([2, 0, 2, 1])  # repeats: the scatter adds (np.add.at)

CASES = {
    "add": (lambda a, b: (a + b) ** 2, (A, B), -1, 1),
    "sub": (lambda a, b: (a - b) ** 2, (A, ROW), -1, 1),
    "mul": (lambda a, b: a * b, (A, B), -1, 1),
    "div": (lambda a, b: a / b, (A, B), 0.5, 2),
    "neg": (lambda a, b: -(a * b), (A, B), -1, 1),
    "pow_number": (lambda a, b: (a * b) ** 3, (A, B), 0.5, 2),
    "pow_tensor": (lambda a, b: a**b, (A, B), 0.5, 2),
    "matmul": (lambda a, b: a @ b.T, (A, (2, 4)), -1, 1),
    "matmul_vector": (lambda a, b: a @ b, (A, B), -1, 1),
    "matmul_batched": (lambda a, b: a.reshape(3, 2, 2) @ b.reshape(2, 2), (A, B), -1, 1),
    "exp": (lambda a, b: (a * b).exp(), (A, B), -1, 1),
    "log": (lambda a, b: (a * b).log(), (A, B), 0.5, 2),
    "sqrt": (lambda a, b: (a * b).sqrt(), (A, B), 0.5, 2),
    "abs": (lambda a, b: (a * b).abs() * a, (A, B), 0.2, 1),
    "tanh": (lambda a, b: (a * b).tanh(), (A, B), -1, 1),
    "sigmoid": (lambda a, b: (a * b).sigmoid(), (A, B), -1, 1),
    "relu": (lambda a, b: (a * b).relu() * a, (A, B), 0.2, 1),
    "clip": (lambda a, b: (a * b).clip(0.1, 5.0) * b, (A, B), 0.5, 1),
    # float64 to float64: a float32 detour would drown the finite differences in rounding
    "astype": (lambda a, b: (a * b).astype(np.float64) * a, (A, B), -1, 1),
    "sum": (lambda a, b: (a * b).sum(axis=1) ** 2, (A, B), -1, 1),
    "mean": (lambda a, b: (a * b).mean(axis=0, keepdims=True) * a, (A, B), -1, 1),
    "max": (lambda a, b: (a * b).max(axis=1) ** 2, (A, B), 0.1, 1),
    "reshape": (lambda a, b: (a * b).reshape(2, 6) ** 2, (A, B), -1, 1),
    "transpose": (lambda a, b: (a * b).T @ a, (A, B), -1, 1),
    "transpose_axes": (lambda a, b: (a * b).reshape(3, 2, 2).transpose(2, 0, 1) ** 2, (A, B),
                       -1, 1),
    "getitem_slice": (lambda a, b: (a * b)[1:, ::2] ** 2, (A, B), -1, 1),
    "getitem_repeats": (lambda a, b: (a * b)[PICK] ** 2, (A, B), -1, 1),
    "concat": (lambda a, b: mg.concat([a * b, a], axis=1) ** 2, (A, B), -1, 1),
    "stack": (lambda a, b: mg.stack([a * b, a], axis=1) ** 2, (A, B), -1, 1),
    "where": (lambda a, b: mg.where(MASK, a * b, a**2), (A, B), -1, 1),
    "squeeze": (lambda a, b: (a * b).reshape(3, 1, 4).squeeze(1) ** 2, (A, B), -1, 1),
    "unsqueeze": (lambda a, b: (a * b).unsqueeze(0) ** 2, (A, B), -1, 1),
    "flatten": (lambda a, b: (a * b).flatten() ** 2, (A, B), -1, 1),
    "broadcast_to": (lambda a, b: b.expand(3, 4) * a, (A, B), -1, 1),
    "repeat": (lambda a, b: (a * b).repeat(2, 1) ** 2, (A, B), -1, 1),
    "split": (lambda a, b: (a * b).split(1, axis=1)[2] ** 2, (A, B), -1, 1),
    "pad": (lambda a, b: mg.pad(a * b, 1) ** 2, (A, B), -1, 1),
    "sin": (lambda a, b: (a * b).sin(), (A, B), -1, 1),
    "cos": (lambda a, b: (a * b).cos(), (A, B), -1, 1),
    "sign": (lambda a, b: (a * b).sign() * a * b, (A, B), 0.2, 1),
    "log1p": (lambda a, b: (a * b).log1p(), (A, B), -0.5, 1),
    "expm1": (lambda a, b: (a * b).expm1(), (A, B), -1, 1),
    "maximum": (lambda a, b: mg.maximum(a, b) ** 2, (A, (3, 1)), -1, 1),
    "minimum": (lambda a, b: mg.minimum(a, b) ** 2, (A, (3, 1)), -1, 1),
    "min": (lambda a, b: (a * b).min(axis=0) ** 2, (A, B), 0.1, 1),
    "prod": (lambda a, b: (a * b).prod(axis=1), (A, B), 0.5, 1.5),
    "cumsum": (lambda a, b: (a * b).cumsum(axis=1) ** 2, (A, B), -1, 1),
    "var": (lambda a, b: (a * b).var(axis=1), (A, B), -1, 1),
    "std": (lambda a, b: (a * b).std(axis=0, ddof=1), (A, B), -1, 1),
    "logsumexp": (lambda a, b: (a * b).logsumexp(axis=1), (A, B), -1, 1),
    "einsum_matmul": (lambda a, b: mg.einsum("ij,kj->ik", a, b), (A, (2, 4)), -1, 1),
    "einsum_trace": (lambda a, b: mg.einsum("ii->", a[:, :3] * b[:3]) ** 2, (A, B), -1, 1),
    "einsum_outer": (lambda a, b: mg.einsum("i,j->ij", a[0], b) ** 2, (A, B), -1, 1),
    "softmax": (lambda a, b: F.softmax(a * b, axis=1), (A, B), -1, 1),
    "log_softmax": (lambda a, b: F.log_softmax(a * b, axis=0), (A, B), -1, 1),
    "cross_entropy_mean": (lambda a, b: F.cross_entropy(a * b, [0, 3, 1]), (A, B), -1, 1),
    "cross_entropy_none": (lambda a, b: F.cross_entropy(a * b, [0, 3, 1], reduction="none"),
                           (A, B), -1, 1),
    "binary_cross_entropy": (lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), (A, A),
                             0.2, 0.8),
    "mse_loss": (lambda a, b: F.mse_loss(a * b, a), (A, B), -1, 1),
}


def inputs(name, seed=0):
    """Float64 leaves that require grad, drawn in the case's range."""
    _, shapes, low, high = CASES[name]
    rng = np.random.default_rng(seed)
    return [mg.Tensor(rng.uniform(low, high, shape), requires_grad=True) for shape in shapes]
