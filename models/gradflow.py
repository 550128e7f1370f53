"""How far back the gradient reaches: ||dL_T/dh_k|| for k = 1..T.

By the chain rule dL_T/dh_k = dL_T/dh_T prod_{i=k+1..T} dh_i/dh_{i-1}: a product of T - k
Jacobians. For a tanh RNN each factor is diag(f_h'(a_i)) W, so when its norm stays below 1 the
product shrinks geometrically (vanishing gradients); the LSTM's additive cell path and the GRU's
gate z let the gradient through for longer.
"""

from __future__ import annotations

import numpy as np

from .gru import GRU
from .lstm import LSTM
from .rnn import RNN

VARIANTS = {
    "rnn": lambda D, H, seed: RNN(D, H, D, f_h="tanh", seed=seed),
    "rnn-relu": lambda D, H, seed: RNN(D, H, D, f_h="relu", seed=seed),
    "lstm": lambda D, H, seed: LSTM(D, H, D, seed=seed),
    "gru": lambda D, H, seed: GRU(D, H, D, seed=seed),
}


def hidden_grad_norms(variant: str, seq_len: int, hidden: int = 32, inputs: int = 8,
                      seed: int = 0) -> np.ndarray:
    """``||dL_T/dh_k||`` for k = 1..T, L_T the squared error of the last step alone."""
    if variant not in VARIANTS:
        raise ValueError(f"model must be one of {tuple(VARIANTS)}, got {variant!r}")
    rng = np.random.default_rng(seed)
    model = VARIANTS[variant](inputs, hidden, seed)
    xs = rng.standard_normal((seq_len, 1, inputs))
    targets = rng.standard_normal((seq_len, 1, inputs))
    ys, hs = model(xs)
    for h in hs:
        h.retain_grad()
    model.loss(ys, targets, "squared_error", t=seq_len).backward()
    return np.array([np.linalg.norm(h.grad) for h in hs])
