"""The benchmark problem of issue 6, shared by rnn.py and memory.py.

A tanh RNN with output size O = D, f_y identity, cross-entropy summed over steps and rows; random
inputs and targets from a fixed seed. Import it after ``_harness.pin_threads`` (it loads numpy).
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from models import RNN
from models.bptt import bptt

CONFIGS = {  # name: (B, D, H, T)
    "tiny": (1, 8, 16, 25),
    "medium": (32, 64, 128, 50),
    "large": (64, 128, 256, 100),
    "long": (1, 8, 32, 10_000),
}


class Problem:
    """One configuration: an RNN, inputs and targets, and the two ways to get the gradients."""

    def __init__(self, B: int, D: int, H: int, T: int, dtype: str = "float64",
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.shape, self.dtype = (B, D, H, T), dtype
        self.rnn = RNN(D, H, D, f_h="tanh", f_y="identity", seed=seed, dtype=dtype)
        self.xs = rng.standard_normal((T, B, D)).astype(dtype)
        self.targets = rng.integers(0, D, size=(T, B))
        self.parameters = self.rnn.parameters()
        self.arrays = self.rnn.params()  # the same arrays the RNN's tensors hold

    def loss(self) -> mg.Tensor:
        """The forward pass and the loss, as a user writes them (the graph is recorded)."""
        ys = self.rnn(self.xs)[0]
        return self.rnn.loss(ys, self.targets, "cross_entropy")

    def minigrad(self) -> None:
        """Forward, loss, backward; the gradients land in the parameters' ``.grad``."""
        for p in self.parameters:
            p.grad = None
        self.loss().backward()

    def checkpointed(self, k: int | str) -> None:
        """Forward and backward of ``rnn.total_loss`` in checkpointed segments of k steps."""
        for p in self.parameters:
            p.grad = None
        self.rnn.total_loss(self.xs, self.targets, "cross_entropy", checkpoint=k).backward()

    def closed_form(self) -> dict[str, np.ndarray]:
        return bptt(self.arrays, self.xs, self.targets, None, "tanh", "identity", "cross_entropy")

    def gradient_check(self) -> tuple[float, str, list[str]]:
        """The worst relative error ||g - g_ref|| / ||g_ref|| over parameters, its parameter, and
        the parameters whose minigrad gradient is not in the problem's dtype."""
        self.minigrad()
        reference = self.closed_form()
        errors, wrong_dtype = {}, []
        for name, p in self.rnn.named_parameters():
            g, ref = p.grad.astype(np.float64), reference[name].astype(np.float64)
            errors[name] = np.linalg.norm(g - ref) / max(np.linalg.norm(ref), 1e-300)
            if p.grad.dtype != np.dtype(self.dtype):
                wrong_dtype.append(f"{name}:{p.grad.dtype}")
        worst = max(errors, key=errors.get)
        return float(errors[worst]), worst, wrong_dtype
