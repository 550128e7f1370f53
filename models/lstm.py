"""The LSTM, in the notation of the notes, built from minigrad ops.

Four gates read the input and the previous hidden state, each with its own input weights V_*,
recurrent weights W_* and bias b_* (sigma is the logistic sigmoid, * the elementwise product):

    i_t = sigma(V_i x_t + W_i h_{t-1} + b_i)      input gate: how much of g_t to write
    f_t = sigma(V_f x_t + W_f h_{t-1} + b_f)      forget gate: how much of c_{t-1} to keep
    g_t = tanh(V_g x_t + W_g h_{t-1} + b_g)       candidate values
    o_t = sigma(V_o x_t + W_o h_{t-1} + b_o)      output gate: how much of the cell to show
    c_t = f_t * c_{t-1} + i_t * g_t               cell state
    h_t = o_t * tanh(c_t)                         hidden state
    z_t = U h_t + b_y,   yhat_t = f_y(z_t)        output, as in the RNN

for t = 1..T. Shapes: V_* (H, D), W_* (H, H), b_* (H,), U (O, H), b_y (O,). Batches are rows, so
in code a gate's pre-activation is ``x_t @ V.T + h_prev @ W.T + b`` (PyTorch's layout).

Why it helps BPTT: along the cell path dc_t/dc_{t-1} = diag(f_t) (plus terms through the gates),
a factor the forget gate controls instead of a product of W and a squashing derivative, so the
gradient of a late loss can reach early steps without vanishing as fast as in the tanh RNN.

State convention. The state of an LSTM is the pair (h, c):
- ``lstm(xs, h0)``: ``h0`` is None (zeros) or a tuple ``(h0, c0)`` of (B, H) arrays or Tensors;
  either may be a Tensor that requires grad. It returns ``ys, hs`` = ``[yhat_1..yhat_T],
  [h_1..h_T]``, exactly as the RNN does.
- ``lstm.unroll(xs, h0)`` returns ``ys, hs, cs`` with the cell states ``cs = [c_1..c_T]`` as well;
  the state after the last step is ``(hs[-1], cs[-1])``, ready to pass as the next chunk's ``h0``.
- ``lstm.step(x_t, (h_prev, c_prev), t)`` returns ``y_t, (h_t, c_t)``.
The cell states are returned, never stored on the module: a module's parameters are its Tensor
attributes (and lists of them) that require grad, so a stored list of cell states would be taken
for parameters, and it would keep the whole graph alive.
Nodes are named ``x_3`` (an unnamed input), ``i_3``, ``f_3``, ``g_3``, ``o_3``, ``c_3``, ``h_3``,
``z_3``, ``yhat_3``: viz's gate view draws one node per name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad as mg
from minigrad.ops import lift

from .rnn import Recurrent, activate, name_input

GATES = ("i", "f", "g", "o")


class LSTM(Recurrent):
    """LSTM with parameters named after its gates, and the RNN's output layer.

    Gates i, f, g, o: V_i..V_o (H, D), W_i..W_o (H, H), b_i..b_o (H,); output U (O, H), b_y (O,).

    ``f_y`` in {identity, sigmoid, softmax}. Weights are drawn from uniform(+-1/sqrt(H)) with
    ``seed``; biases start at zero except the forget gate's, which starts at one.
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
        # With b_f = 0 the forget gate starts near sigma(0) = 0.5, so an untrained cell halves its
        # memory, and the gradient along the cell path, at every step. b_f = 1 starts it near 0.73:
        # the cell remembers, and BPTT reaches further back, from the first training step.
        sizes = (input_size, hidden_size, output_size)
        self._gated("LSTM", GATES, sizes, f_y, seed, dtype, bias_fill={"f": 1.0})

    def initial_state(self, batch: int) -> tuple[mg.Tensor, mg.Tensor]:
        """The zero state ``(h_0, c_0)``, each (batch, H)."""
        zeros = np.zeros((batch, self.hidden_size), dtype=self.W_i.dtype)
        return mg.Tensor(zeros, name="h_0"), mg.Tensor(zeros.copy(), name="c_0")

    def step(
        self, x_t: Any, state: tuple[Any, Any], t: int | None = None
    ) -> tuple[mg.Tensor, tuple[mg.Tensor, mg.Tensor]]:
        """One step: from ``x_t`` (B, D) and ``(h_{t-1}, c_{t-1})`` to ``yhat_t, (h_t, c_t)``.

        ``t`` (1-based) only names the nodes (``i_t``, ``f_t``, ``g_t``, ``o_t``, ``c_t``, ...).
        """
        x_t = lift(x_t)
        if x_t.ndim != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(f"LSTM.step: x_t must be (B, {self.input_size}), got {x_t.shape}")
        h_prev, c_prev = self._check_state(state, x_t.shape[0], "LSTM.step: state")
        suffix = "_t" if t is None else f"_{t}"
        name_input(x_t, "x" + suffix)
        i_t = (x_t @ self.V_i.T + h_prev @ self.W_i.T + self.b_i).sigmoid()
        f_t = (x_t @ self.V_f.T + h_prev @ self.W_f.T + self.b_f).sigmoid()
        g_t = (x_t @ self.V_g.T + h_prev @ self.W_g.T + self.b_g).tanh()
        o_t = (x_t @ self.V_o.T + h_prev @ self.W_o.T + self.b_o).sigmoid()
        c_t = f_t * c_prev + i_t * g_t
        h_t = o_t * c_t.tanh()
        z_t = h_t @ self.U.T + self.b_y
        y_t = activate(self.f_y, z_t)
        for node, name in ((i_t, "i"), (f_t, "f"), (g_t, "g"), (o_t, "o"), (c_t, "c"),
                           (h_t, "h"), (z_t, "z")):
            node.name = name + suffix
        y_t.name = "yhat" + suffix  # with f_y identity, yhat_t is z_t itself
        return y_t, (h_t, c_t)

    def _check_state(self, state: Any, batch: int, what: str) -> tuple[mg.Tensor, mg.Tensor]:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError(
                f"{what} must be a pair (h, c) of ({batch}, {self.hidden_size}) arrays or "
                f"Tensors, got {type(state).__name__}"
            )
        h, c = lift(state[0]), lift(state[1])
        for name, s in (("h", h), ("c", c)):
            if s.shape != (batch, self.hidden_size):
                raise ValueError(
                    f"{what}: {name} must be ({batch}, {self.hidden_size}), got {s.shape}"
                )
        return h, c

    def start_state(self, h0: Any, batch: int) -> tuple[mg.Tensor, mg.Tensor]:
        return self.initial_state(batch) if h0 is None else self._check_state(h0, batch, "LSTM: h0")

    def unroll(
        self, xs: Any, h0: Any = None, start: int = 1
    ) -> tuple[list[mg.Tensor], list[mg.Tensor], list[mg.Tensor]]:
        """Unroll over ``xs`` ((T, B, D) or T arrays of (B, D)): ``ys, hs, cs``.

        ``ys = [yhat_1..yhat_T]``, ``hs = [h_1..h_T]``, ``cs = [c_1..c_T]``. ``h0`` is None (zeros)
        or the pair ``(h0, c0)``. Step t's nodes are made inside ``mg.scope(f"t={t}")``, t counted
        from ``start`` (a later chunk of a long sequence keeps its time labels).
        """
        ys, states = self.unroll_states(xs, h0, start)
        return ys, [h for h, _ in states], [c for _, c in states]
