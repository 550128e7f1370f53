"""Truncated BPTT: a long sequence in chunks, the state carried across with ``detach()``.

Within a chunk the graph is unrolled as usual; at a chunk's start the incoming state is
``h.detach()``, a leaf, so backward() stops there. Each ``L_t`` therefore sums the notes' terms
only for k from its own chunk's start to t (not a fixed number of steps back). The closed form of
the same thing is ``models.bptt.bptt_truncated``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .rnn import sequence_inputs


def detach_state(state: Any) -> Any:
    """``h.detach()``, or each part of a state tuple such as the LSTM's ``(h, c)``."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def truncated_bptt(
    model: Any,
    xs: Any,
    targets: Any,
    chunk: int,
    loss: str = "squared_error",
    h0: Any = None,
    after_chunk: Callable[[int], None] | None = None,
) -> tuple[float, Any]:
    """Run ``model`` over ``xs`` in chunks of ``chunk`` steps; backward() once per chunk.

    Gradients of the chunks add up in the parameters' ``.grad`` (``after_chunk(start)`` may step
    an optimizer and zero them instead). ``model`` is an RNN, LSTM or GRU of ``models``. Returns
    the total loss and the final state (detached).
    """
    if chunk < 1:
        raise ValueError(f"truncated_bptt: chunk must be at least 1, got {chunk}")
    steps = sequence_inputs(xs)
    if len(targets) != len(steps):
        raise ValueError(f"truncated_bptt: {len(steps)} inputs but {len(targets)} targets")
    state, total = h0, 0.0
    for start in range(0, len(steps), chunk):
        ys, states = model.unroll_states(steps[start:start + chunk], state, start=start + 1)
        L = model.loss(ys, targets[start:start + chunk], loss)
        L.backward()
        total += L.item()
        state = detach_state(states[-1])
        if after_chunk is not None:
            after_chunk(start + 1)
    return total, state
