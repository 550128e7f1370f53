"""Checkpointed unrolling: a recurrent model run in segments of k steps, each an ``mg.checkpoint``.

Between forward and backward only what crosses a segment's border stays alive: the state after
each segment (``h_k``, and ``c_k`` for the LSTM) and, for ``total_loss``, each segment's loss.
Backward recomputes one segment's graph at a time. The segment's function takes the state and
the parameters as inputs (the module's parameters are swapped for them while it runs), so the
parameters' gradients flow through the checkpoint node like any other gradient.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import minigrad as mg


def segment_length(checkpoint: int | str, steps: int) -> int:
    """k from ``checkpoint``: an int >= 1, or "sqrt" for ceil(sqrt(T))."""
    if checkpoint == "sqrt":
        return max(1, math.ceil(math.sqrt(steps)))
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or checkpoint < 1:
        raise ValueError(f"checkpoint must be a segment length k >= 1 or 'sqrt', "
                         f"got {checkpoint!r}")
    return checkpoint


@contextlib.contextmanager
def parameters_replaced(model: mg.nn.Module, names: Sequence[str],
                        values: Sequence[mg.Tensor]) -> Iterator[None]:
    """Let the model compute with ``values`` in place of its parameters, then put them back."""
    originals = [_get(model, name) for name in names]
    for name, value in zip(names, values):
        _set(model, name, value)
    try:
        yield
    finally:
        for name, value in zip(names, originals):
            _set(model, name, value)


def _owner(model: Any, dotted: str) -> tuple[Any, str]:
    *path, last = dotted.split(".")
    for part in path:
        model = model[int(part)] if part.isdigit() else getattr(model, part)
    return model, last


def _get(model: Any, dotted: str) -> Any:
    owner, last = _owner(model, dotted)
    return owner[int(last)] if last.isdigit() else getattr(owner, last)


def _set(model: Any, dotted: str, value: Any) -> None:
    owner, last = _owner(model, dotted)
    if last.isdigit():
        owner[int(last)] = value
    else:
        setattr(owner, last, value)


def as_parts(state: Any) -> tuple[mg.Tensor, ...]:
    """A state (a Tensor, or a tuple such as the LSTM's (h, c)) as a tuple of Tensors."""
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def from_parts(parts: Sequence[mg.Tensor], like: Any) -> Any:
    return tuple(parts) if isinstance(like, (tuple, list)) else parts[0]


SegmentBody = Callable[[Any, int, int], tuple[Any, tuple[mg.Tensor, ...]]]


def run_segments(model: mg.nn.Module, state: Any, steps: int, k: int, start: int,
                 body: SegmentBody) -> list[tuple[Any, tuple[mg.Tensor, ...]]]:
    """Run ``body(state, a, b) -> (state, extras)`` for steps a..b-1 (0-based) of each segment,
    as one checkpoint per segment in scope ``t=first..last``; returns each segment's
    (state, extras) as the checkpoints' outputs."""
    names, params = zip(*model.named_parameters())
    results, width = [], len(as_parts(state))
    for a in range(0, steps, k):
        b = min(a + k, steps)

        def segment(*inputs: mg.Tensor, a: int = a, b: int = b, like: Any = state) -> tuple:
            with parameters_replaced(model, names, inputs[width:]):
                end, extras = body(from_parts(inputs[:width], like), a, b)
            return (*as_parts(end), *extras)

        with mg.scope(f"t={start + a}..{start + b - 1}"):
            outputs = mg.checkpoint(segment, *as_parts(state), *params)
        state = from_parts(outputs[:width], state)
        results.append((state, outputs[width:]))
    return results
