"""The GRU, in the notation of the notes, built from minigrad ops.

Two gates and a candidate read the input and the previous hidden state, each with its own input
weights V_*, recurrent weights W_* and bias b_* (sigma is the logistic sigmoid, * elementwise):

    z_t = sigma(V_z x_t + W_z h_{t-1} + b_z)             update gate: how much of h_{t-1} to keep
    r_t = sigma(V_r x_t + W_r h_{t-1} + b_r)             reset gate: how much of h_{t-1} n_t sees
    n_t = tanh(V_n x_t + W_n (r_t * h_{t-1}) + b_n)      candidate state
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}                a convex mix of the new and the old
    yhat_t = f_y(U h_t + b_y)                            output, as in the RNN

for t = 1..T, with h_0 the given initial state. Shapes: V_* (H, D), W_* (H, H), b_* (H,),
U (O, H), b_y (O,). Batches are rows, so in code ``x_t @ V.T + h_prev @ W.T + b`` (PyTorch's
layout).

Where the reset gate sits. Here r_t multiplies h_{t-1} before the matmul: W_n (r_t * h_{t-1}).
PyTorch's ``nn.GRU`` applies it after the matmul and gives that term its own bias:
n_t = tanh(V_n x_t + b_in + r_t * (W_n h_{t-1} + b_hn)). The two forms are different functions
(the same weights give different outputs), so weights cannot be moved between them one to one.
PyTorch's choice lets one matmul serve all three recurrent terms; ours reads as "the candidate
sees a reset version of the old state".

Why it helps BPTT: dh_t/dh_{t-1} contains the term diag(z_t), so where the update gate is near 1
the state, and the gradient, passes through the step almost unchanged.

The GRU takes and returns the state exactly as the RNN does: ``ys, hs = gru(xs, h0=None)`` with
``h0`` None (zeros) or a (B, H) array or Tensor (which may require grad), and
``y_t, h_t = gru.step(x_t, h_prev, t)``. The letter z is the update gate's, as in the GRU
literature, so the output's pre-activation ``U h_t + b_y`` (z_t in the RNN) is named ``logits_t``.
Nodes are named ``x_3`` (an unnamed input), ``z_3``, ``r_3``, ``n_3``, ``h_3``, ``logits_3``,
``yhat_3``: viz's gate view draws one node per name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad as mg
from minigrad.ops import lift

from .rnn import Recurrent, activate, name_input

GATES = ("z", "r", "n")


class GRU(Recurrent):
    """GRU with parameters named after its gates, and the RNN's output layer.

    Gates z, r and candidate n: V_z, V_r, V_n (H, D), W_z, W_r, W_n (H, H), b_z, b_r, b_n (H,);
    output U (O, H), b_y (O,). ``f_y`` in {identity, sigmoid, softmax}. Weights are drawn from
    uniform(+-1/sqrt(H)) with ``seed``; biases start at zero.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        f_y: str = "identity",
        seed: int | None = 0,
        dtype: Any = np.float64,
    ) -> None:
        sizes = (input_size, hidden_size, output_size)
        self._gated("GRU", GATES, sizes, f_y, seed, dtype)

    def initial_state(self, batch: int) -> mg.Tensor:
        return mg.Tensor(np.zeros((batch, self.hidden_size), dtype=self.W_z.dtype), name="h_0")

    def step(self, x_t: Any, h_prev: Any, t: int | None = None) -> tuple[mg.Tensor, mg.Tensor]:
        """One step: from ``x_t`` (B, D) and ``h_{t-1}`` (B, H) to ``yhat_t, h_t``.

        ``t`` (1-based) only names the nodes (``z_t``, ``r_t``, ``n_t``, ``h_t``, ...).
        """
        x_t, h_prev = lift(x_t), lift(h_prev)
        if x_t.ndim != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(f"GRU.step: x_t must be (B, {self.input_size}), got {x_t.shape}")
        if h_prev.shape != (x_t.shape[0], self.hidden_size):
            raise ValueError(
                f"GRU.step: h_prev must be ({x_t.shape[0]}, {self.hidden_size}), got {h_prev.shape}"
            )
        suffix = "_t" if t is None else f"_{t}"
        name_input(x_t, "x" + suffix)
        z_t = (x_t @ self.V_z.T + h_prev @ self.W_z.T + self.b_z).sigmoid()
        r_t = (x_t @ self.V_r.T + h_prev @ self.W_r.T + self.b_r).sigmoid()
        n_t = (x_t @ self.V_n.T + (r_t * h_prev) @ self.W_n.T + self.b_n).tanh()
        h_t = (1 - z_t) * n_t + z_t * h_prev
        logits_t = h_t @ self.U.T + self.b_y
        y_t = activate(self.f_y, logits_t)
        for node, name in ((z_t, "z"), (r_t, "r"), (n_t, "n"), (h_t, "h"), (logits_t, "logits")):
            node.name = name + suffix
        y_t.name = "yhat" + suffix  # with f_y identity, yhat_t is logits_t itself
        return y_t, h_t
