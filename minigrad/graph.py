"""Walks over the graph, and the one place where numpy broadcasting is undone.

Used by ``autograd`` (backward), by ``viz`` (drawing) and by learners (``mg.topological_order``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor


def topological_order(root: Tensor, requires_grad_only: bool = False) -> list[Tensor]:
    """Every node behind ``root`` once, each after all of its parents, ``root`` last.

    Collects the nodes reachable from ``root`` with an explicit stack (no recursion, so a chain of
    100,000 ops is fine), then sorts them by creation number: a tensor is always made after the
    tensors it is computed from. With ``requires_grad_only`` the walk skips parents that no
    gradient flows into.
    """
    seen = {root: None}  # an insertion-ordered set; tensors hash by identity
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in seen and (parent.requires_grad or not requires_grad_only):
                seen[parent] = None
                stack.append(parent)
    return sorted(seen, key=attrgetter("_seq"))


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo numpy broadcasting: sum ``grad`` down to ``shape``.

    Broadcasting copies an input along new leading axes and along axes of size 1; the derivative
    of a copy is the sum of the copies' gradients. The one place every op's broadcast is undone.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = np.add.reduce(grad, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = np.add.reduce(grad, axis=axes, keepdims=True)
    return grad


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a stretch of graph work.

    NOTE: the graph holds no reference cycles (VJPs are plain functions, saved values plain
    arrays), so reference counting frees it; the cyclic collector would only walk every live
    node again and again. Paused, nothing is lost: cycles made meanwhile are collected later.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
