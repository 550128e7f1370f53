"""The RNN of the notes, built from minigrad ops, and its sequence losses.

    a_t = V x_t + W h_{t-1} + b_h,   h_t = f_h(a_t)
    z_t = U h_t + b_y,               yhat_t = f_y(z_t)

for t = 1..T, with h_0 the given initial state. Batches are rows, so in code
``a_t = x_t @ V.T + h_prev @ W.T + b_h`` (PyTorch's layout). Unrolled over time this is one
ordinary graph in which ``W`` is used T times; ``backward()`` on it sums the gradient of every use,
which is exactly the sum over k in the notes' BPTT formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import functional as F
from minigrad.graph import cycle_collector_paused
from minigrad.ops import lift

from . import segments

HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
OUTPUT_ACTIVATIONS = ("identity", "sigmoid", "softmax")
LOSSES = ("squared_error", "cross_entropy")


def activate(name: str, x: mg.Tensor) -> mg.Tensor:
    """Apply the activation ``name`` (tanh, sigmoid, relu, identity, softmax) to ``x``."""
    if name == "tanh":
        return x.tanh()
    if name == "sigmoid":
        return x.sigmoid()
    if name == "relu":
        return x.relu()
    if name == "identity":
        return x
    if name == "softmax":
        return F.softmax(x, axis=-1)
    raise ValueError(f"unknown activation {name!r}")


def sequence_inputs(xs: Any, name: str = "xs") -> list[mg.Tensor]:
    """A (T, B, D) array/Tensor or a list of T (B, D) arrays/Tensors, as T tensors."""
    if isinstance(xs, (np.ndarray, mg.Tensor)):
        if xs.ndim != 3:
            raise ValueError(f"{name}: expected shape (T, B, D), got {xs.shape}")
        return [xs[t] for t in range(xs.shape[0])]
    steps = [lift(x) for x in xs]
    if not steps:
        raise ValueError(f"{name}: the sequence is empty (T = 0)")
    return steps


def make_param(rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float = 0.0,
               dtype: Any = np.float64, fill: float = 0.0) -> mg.Tensor:
    """A parameter drawn from uniform(+-scale), or filled with ``fill`` when scale is 0."""
    values = rng.uniform(-scale, scale, shape) if scale else np.full(shape, fill)
    return mg.Tensor(values.astype(dtype), requires_grad=True, name=name)


class Recurrent(mg.nn.Module):
    """What RNN, LSTM and GRU share: unrolling ``step`` over time, the loss, ``params()``.

    A subclass defines ``step(x_t, state, t) -> (yhat_t, state)`` and ``initial_state(batch)``;
    its state is ``h_t``, or a tuple whose first item is ``h_t``.
    """

    f_y: str

    def _gated(self, kind: str, gates: tuple[str, ...], sizes: tuple[int, int, int], f_y: str,
               seed: int | None, dtype: Any, bias_fill: dict[str, float] | None = None) -> None:
        """Parameters of a gated cell: V_g (H, D), W_g (H, H), b_g (H,) for each gate g, and
        the output layer U (O, H), b_y (O,); weights from uniform(+-1/sqrt(H)) with ``seed``."""
        if f_y not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"{kind}: f_y must be one of {OUTPUT_ACTIVATIONS}, got {f_y!r}")
        D, H, O = sizes
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(H)
        for gate in gates:
            setattr(self, f"V_{gate}", make_param(rng, f"V_{gate}", (H, D), bound, dtype))
        for gate in gates:
            setattr(self, f"W_{gate}", make_param(rng, f"W_{gate}", (H, H), bound, dtype))
        self.U = make_param(rng, "U", (O, H), bound, dtype)
        for gate in gates:
            fill = (bias_fill or {}).get(gate, 0.0)
            setattr(self, f"b_{gate}", make_param(rng, f"b_{gate}", (H,), dtype=dtype, fill=fill))
        self.b_y = make_param(rng, "b_y", (O,), dtype=dtype)
        self.f_y = f_y
        self.input_size, self.hidden_size, self.output_size = sizes

    def start_state(self, h0: Any, batch: int) -> Any:
        """The state before step 1: zeros when ``h0`` is None."""
        return self.initial_state(batch) if h0 is None else lift(h0)

    def unroll_states(self, xs: Any, h0: Any = None, start: int = 1,
                      checkpoint: int | str | None = None) -> tuple[list, list]:
        """``[yhat_1..yhat_T]`` and the state after every step; step t inside scope ``t={t}``.

        With ``checkpoint`` (k, or "sqrt" for ceil(sqrt(T))) the steps run in segments of k,
        each an ``mg.checkpoint`` whose graph backward recomputes (see ``models.segments``).
        """
        steps = sequence_inputs(xs)
        state = self.start_state(h0, steps[0].shape[0])
        if checkpoint is not None:
            return self._checkpointed_states(steps, state, start, checkpoint)
        ys, states = [], []
        with cycle_collector_paused():  # the graph has no cycles: see minigrad.graph
            for t, x_t in enumerate(steps, start=start):
                with mg.scope(f"t={t}"):
                    y_t, state = self.step(x_t, state, t)
                ys.append(y_t)
                states.append(state)
        return ys, states

    def _checkpointed_states(self, steps: list, state: Any, start: int,
                             checkpoint: int | str) -> tuple[list, list]:
        def body(state: Any, a: int, b: int) -> tuple[Any, tuple]:
            ys, parts = [], []
            for t in range(a, b):
                with mg.scope(f"t={start + t}"):
                    y_t, state = self.step(steps[t], state, start + t)
                ys.append(y_t)
                parts.extend(segments.as_parts(state))
            return state, (*ys, *parts)

        k = segments.segment_length(checkpoint, len(steps))
        ys, states, width = [], [], len(segments.as_parts(state))
        for _, extras in segments.run_segments(self, state, len(steps), k, start, body):
            n = len(extras) // (1 + width)
            ys.extend(extras[:n])
            parts = extras[n:]
            states.extend(segments.from_parts(parts[i:i + width], state)
                          for i in range(0, len(parts), width))
        return ys, states

    def forward(
        self, xs: Any, h0: Any = None, start: int = 1, checkpoint: int | str | None = None
    ) -> tuple[list[mg.Tensor], list[mg.Tensor]]:
        """Unroll over ``xs`` ((T, B, D) or T arrays of (B, D)): ``[yhat_1..yhat_T], [h_1..h_T]``.

        Step t's nodes are made inside ``mg.scope(f"t={t}")``, t counted from ``start`` (a later
        chunk of a long sequence keeps its time labels). ``h0`` defaults to zeros and may be a
        Tensor that requires grad. ``checkpoint=k`` (or "sqrt") runs segments of k steps whose
        graphs backward recomputes: the same gradients for less memory.
        """
        ys, states = self.unroll_states(xs, h0, start, checkpoint)
        return ys, [s[0] if isinstance(s, tuple) else s for s in states]

    def total_loss(self, xs: Any, targets: Any, loss: str = "squared_error", h0: Any = None,
                   checkpoint: int | str | None = None) -> mg.Tensor:
        """``L = sum_t L_t``, as ``self.loss(self(xs, h0)[0], targets, loss)``.

        With ``checkpoint`` (k, or "sqrt" for ceil(sqrt(T))) each segment of k steps computes
        its own losses inside an ``mg.checkpoint``: between forward and backward only the T/k
        boundary states and segment losses stay alive, plus one segment's graph while backward
        recomputes it.
        """
        if checkpoint is None:
            return self.loss(self(xs, h0)[0], targets, loss)
        # a (T, B, D) array is read one step at a time: T views made up front would be O(T)
        lazy = isinstance(xs, (np.ndarray, mg.Tensor)) and xs.ndim == 3
        steps = xs if lazy else sequence_inputs(xs)
        if len(targets) != len(steps) or not len(steps):
            raise ValueError(f"total_loss: {len(steps)} steps and {len(targets)} targets; "
                             f"needs as many targets as steps, at least one")

        def body(state: Any, a: int, b: int) -> tuple[Any, tuple]:
            total = None
            for t in range(a + 1, b + 1):
                with mg.scope(f"t={t}"):
                    y_t, state = self.step(steps[t - 1], state, t)
                    L_t = step_loss(y_t, targets[t - 1], loss, self.f_y, f"y_{t}")
                L_t.name = f"L_{t}"
                total = L_t if total is None else total + L_t
            total.name = f"L_{a + 1}..{b}"
            return state, (total,)

        k = segments.segment_length(checkpoint, len(steps))
        state = self.start_state(h0, steps[0].shape[0])
        total = None
        for _, (segment_loss,) in segments.run_segments(self, state, len(steps), k, 1, body):
            total = segment_loss if total is None else total + segment_loss
        total.name = "L"
        return total

    __call__ = forward

    def loss(self, ys: Sequence[mg.Tensor], targets: Any, loss: str = "squared_error",
             t: int | None = None) -> mg.Tensor:
        """``sequence_loss`` with this model's ``f_y``: L = sum_t L_t, or L_t alone."""
        return sequence_loss(ys, targets, loss, self.f_y, t)

    def params(self) -> dict[str, np.ndarray]:
        """The parameters as a dict of arrays, by name (the form ``models.bptt`` takes)."""
        return {name: p.data for name, p in self.named_parameters()}


class RNN(Recurrent):
    """Elman RNN with parameters named as in the notes: V (H, D), W (H, H), U (O, H), b_h, b_y.

    ``f_h`` in {tanh, sigmoid, relu, identity}; ``f_y`` in {identity, sigmoid, softmax}.
    Weights are drawn from uniform(+-1/sqrt(H)) with ``seed``; biases start at zero.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        f_h: str = "tanh",
        f_y: str = "identity",
        seed: int | None = 0,
        dtype: Any = np.float64,
    ) -> None:
        if f_h not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"RNN: f_h must be one of {HIDDEN_ACTIVATIONS}, got {f_h!r}")
        if f_y not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"RNN: f_y must be one of {OUTPUT_ACTIVATIONS}, got {f_y!r}")
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(hidden_size)
        self.V = make_param(rng, "V", (hidden_size, input_size), bound, dtype)
        self.W = make_param(rng, "W", (hidden_size, hidden_size), bound, dtype)
        self.U = make_param(rng, "U", (output_size, hidden_size), bound, dtype)
        self.b_h = make_param(rng, "b_h", (hidden_size,), dtype=dtype)
        self.b_y = make_param(rng, "b_y", (output_size,), dtype=dtype)
        self.f_h, self.f_y = f_h, f_y
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size

    def initial_state(self, batch: int) -> mg.Tensor:
        return mg.Tensor(np.zeros((batch, self.hidden_size), dtype=self.W.dtype), name="h_0")

    def step(
        self, x_t: Any, h_prev: mg.Tensor, t: int | None = None
    ) -> tuple[mg.Tensor, mg.Tensor]:
        """One step: ``h_t = f_h(x_t V^T + h_{t-1} W^T + b_h)``, ``yhat_t = f_y(h_t U^T + b_y)``.

        ``t`` (1-based) only names the nodes: ``x_t`` (when unnamed), ``V x_t``, ``W h_{t-1}``,
        ``a_t``, ``h_t``, ``z_t``, ``yhat_t``, the notes' terms that viz's formula view draws.
        """
        x_t = lift(x_t)
        x_shape, h_shape = x_t.data.shape, h_prev.data.shape  # NOTE: .data: runs every step
        if len(x_shape) != 2 or x_shape[1] != self.input_size:
            raise ValueError(f"RNN.step: x_t must be (B, {self.input_size}), got {x_shape}")
        if h_shape != (x_shape[0], self.hidden_size):
            raise ValueError(
                f"RNN.step: h_prev must be ({x_shape[0]}, {self.hidden_size}), got {h_shape}"
            )
        suffix = "_t" if t is None else f"_{t}"
        name_input(x_t, "x" + suffix)
        v_x = x_t @ self.V.T
        w_h = h_prev @ self.W.T
        a_t = v_x + w_h + self.b_h
        h_t = activate(self.f_h, a_t)
        z_t = h_t @ self.U.T + self.b_y
        y_t = activate(self.f_y, z_t)
        # the notes' terms, so that a drawing (viz's formula view) speaks the notes' language
        v_x.name = "V x" + suffix
        w_h.name = "W h" + ("_{t-1}" if t is None else f"_{t - 1}")
        a_t.name, h_t.name, z_t.name = "a" + suffix, "h" + suffix, "z" + suffix
        y_t.name = "yhat" + suffix  # with f_y identity, yhat_t is z_t itself
        return y_t, h_t


def name_input(tensor: mg.Tensor, name: str) -> None:
    """Name an input (``x_3``, ``y_3``) that has no name yet; a name the user gave is kept."""
    if tensor.name is None:
        tensor.name = name


def step_loss(y_t: mg.Tensor, target: Any, loss: str, f_y: str = "identity",
              target_name: str | None = None) -> mg.Tensor:
    """L_t for one step, summed over batch rows (no means, no 1/2).

    squared_error: ``L_t = sum (yhat_t - y_t)^2``.
    cross_entropy: ``L_t = -log softmax(z_t)[target]``. With ``f_y`` identity ``yhat_t = z_t`` are
    the logits; with ``f_y`` softmax ``yhat_t`` already is ``softmax(z_t)``, so the loss is
    ``-log yhat_t[target]`` (never softmax applied twice). ``target_name`` (``y_3``) names the
    target where it enters the graph as a tensor.
    """
    if loss == "squared_error":
        target = lift(target, y_t)
        if target_name:
            name_input(target, target_name)
        return ((y_t - target) ** 2).sum()
    if loss != "cross_entropy":
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if f_y == "identity":
        return F.cross_entropy(y_t, target, reduction="sum")
    if f_y == "softmax":
        one_hot = mg.Tensor(F.one_hot(target, y_t.shape[-1], y_t.dtype), name=target_name)
        return -(y_t.log() * one_hot).sum()
    raise ValueError(f"cross_entropy needs f_y identity (logits) or softmax, got {f_y!r}")


def sequence_loss(
    ys: Sequence[mg.Tensor],
    targets: Any,
    loss: str = "squared_error",
    f_y: str = "identity",
    t: int | None = None,
) -> mg.Tensor:
    """L = sum_t L_t over steps t = 1..T, or the loss of step ``t`` alone (1-based).

    Each ``L_t`` is made in its prediction's time scope (``t=k``, which a later chunk of a long
    sequence numbers on from its start) and named ``L_k``, its target ``y_k``; the total is named
    ``L`` (the loss of one step alone keeps its name ``L_k``).
    """
    T = len(ys)
    if len(targets) != T:
        raise ValueError(f"sequence_loss: {T} predictions but {len(targets)} targets")
    if t is not None and not 1 <= t <= T:
        raise ValueError(f"sequence_loss: t must lie in 1..{T}, got {t}")
    total = None
    with cycle_collector_paused():  # the graph has no cycles: see minigrad.autograd
        for step in range(1, T + 1) if t is None else [t]:
            y_t = ys[step - 1]
            label = y_t.scope.rsplit("/", 1)[-1]
            label = label if label.startswith("t=") else f"t={step}"
            with mg.scope(label):
                L_t = step_loss(y_t, targets[step - 1], loss, f_y, f"y_{label[2:]}")
            L_t.name = f"L_{label[2:]}"
            total = L_t if total is None else total + L_t
    if t is None:
        total.name = "L"
    return total
