"""Walks over the graph, and the one place where numpy broadcasting is undone.

Used by ``autograd`` (backward), by ``viz`` (drawing) and by learners (``mg.topological_order``).
"""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from .modes import describe

if TYPE_CHECKING:
    from .tensor import Tensor


def topological_order(root: Tensor, requires_grad_only: bool = False) -> list[Tensor]:
    """Every node behind ``root`` once, each after all of its parents, ``root`` last.

    Collects the nodes reachable from ``root`` with an explicit stack (no recursion, so a chain of
    100,000 ops is fine), then sorts them by creation number: a tensor is always made after the
    tensors it is computed from. With ``requires_grad_only`` the walk skips parents that no
    gradient flows into.
    """
    # NOTE: keyed by creation number, not by tensor: consecutive ints land in neighbouring slots
    # of the table (a long graph's walk stays in the CPU's caches), and sorting plain ints needs
    # no key function that would visit every node once more.
    seen, stack = {root._seq: root}, [root]
    while stack:
        for parent in stack.pop().parents:
            seq = parent._seq
            if seq not in seen and (parent.requires_grad or not requires_grad_only):
                seen[seq] = parent
                stack.append(parent)
    return [seen[seq] for seq in sorted(seen)]


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo numpy broadcasting: sum ``grad`` down to ``shape``.

    Broadcasting copies an input along new leading axes and along axes of size 1; the derivative
    of a copy is the sum of the copies' gradients. The one place every op's broadcast is undone.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0 and grad.shape[:extra].count(1) == extra:  # a sum over axes of size 1:
        grad = grad.reshape(grad.shape[extra:])  # NOTE: a view, 3x cheaper than np.add.reduce
    elif extra > 0:
        grad = np.add.reduce(grad, axis=tuple(range(extra)))
    if 1 in shape:  # axes of size 1 that numpy stretched
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if axes:
            grad = np.add.reduce(grad, axis=axes, keepdims=True)
    return grad


NOTHING: dict = {}  # the saved values of a node that records nothing (never written to)

# Tensors given a hook, by id. While one lives, backward() releases a graph only at the end of a
# pass, so that a hook that raises leaves the graph whole for a retry. (Not a WeakSet: that
# compares tensors with ==, which gives arrays.)
HOOKED: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


def release(node: Tensor) -> None:
    """What backward() does to a node it is done with: it keeps its op, but loses its links and
    saved values (so the arrays can be freed)."""
    node.parents, node.vjp, node.saved = (), None, NOTHING
    if not node._seq & 1023:  # the GraphPause holders (see GraphPause)
        node._pause = None


def check_saved_unchanged(node: Tensor) -> None:
    """Refuse a node whose VJP saved values that an in-place operator changed since (backward
    calls this only for nodes older than the latest in-place change: most never pay for it)."""
    saved = [v for v in node.saved.values() if isinstance(v, np.ndarray)]
    for tensor in (node, *node.parents):
        if (any(np.may_share_memory(tensor.data, v) for v in saved)
                and changed_since(tensor, node._seq)):
            what = f"'{tensor.name}'" if tensor.name else f"of shape {tensor.shape}"
            raise RuntimeError(
                f"backward: the tensor {what}, saved by {describe(node)} to compute its "
                f"gradient, was changed in place (+=, -=, *=, /= or an optimizer step) after the "
                f"forward pass, so the gradient would be wrong. Run the forward pass again after "
                f"the change, or write the change out of place (x = x + y)."
            )


def changed_since(tensor: Tensor, seq: int) -> bool:
    """Was ``tensor``, or the tensor it is a view of (transpose, reshape, slice), changed?"""
    while tensor._changed_at <= seq:
        if tensor.data.base is None or len(tensor.parents) != 1:
            return False
        tensor = tensor.parents[0]
    return True


# NOTE: why the cyclic garbage collector is paused while a graph is alive. Every node is a
# Tensor plus its parents tuple: two objects the collector tracks. CPython 3.11 runs a full
# collection, which walks every tracked object in the process, each time the objects that
# survived the young generations since the last one exceed 25% of the old generation. A growing
# graph crosses that line again and again, so a plain loop of T steps walked the graph many times
# and cost grew faster than T (22x from T = 1,000 to 10,000). The graph holds no reference cycles
# (VJPs are plain functions, saved values plain arrays): reference counting frees it and the
# walks find nothing. So every 1024th recorded node holds a GraphPause (one token, shared by the
# graphs recorded while it lives; a graph keeps its older nodes alive, so the token lives as long
# as a long graph does, and short graphs never pay for it). While it lives the engine disables
# the automatic collector and runs it itself every 1024 recorded nodes: the youngest generation
# (cycles made and dropped meanwhile are freed), and a full collection each time the nodes
# recorded since the last one outnumber those before it (at least 2**17): the walks then cost at
# most twice the graph, linear in T, and older cycles (even one holding a graph) are still freed.
# When the last node holding the pause dies, or backward() releases the graph, the collector is
# enabled again if the engine disabled it. Thresholds, callbacks and frozen objects stay the
# user's.
class GraphPause:
    """A token held by every 1024th node of a recorded graph: while one lives, full collections
    wait."""

    __slots__ = ("__weakref__",)
    newest: Callable[[], GraphPause | None] = staticmethod(lambda: None)  # a weak reference
    live = 0  # pauses alive in the process
    ours = False  # True when the engine disabled the collector (and so must enable it again)
    recorded = 0  # nodes recorded in the current pause, counted by 1024
    at_last_full = 0  # the value of ``recorded`` at the engine's last full collection
    lock = threading.RLock()  # reentrant: a pause may die inside another one's bookkeeping

    def __init__(self) -> None:
        with GraphPause.lock:
            GraphPause.live += 1
            if gc.isenabled():
                gc.disable()
                GraphPause.ours = True

    def __del__(self) -> None:
        with GraphPause.lock:
            GraphPause.live -= 1
            if GraphPause.live == 0 and GraphPause.ours:
                GraphPause.ours = False
                GraphPause.recorded = GraphPause.at_last_full = 0
                gc.enable()

    # a copied or pickled graph shares the pause (or takes the live one): never an uncounted one
    def __copy__(self) -> GraphPause:
        return self

    def __deepcopy__(self, memo: dict) -> GraphPause:
        return self

    def __reduce__(self) -> tuple:
        return graph_pause, ()


def graph_pause() -> GraphPause:
    """The live pause, shared by every graph recorded while it lives, or a new one."""
    pause = GraphPause.newest()
    if pause is None:
        pause = GraphPause()
        GraphPause.newest = weakref.ref(pause)
    return pause


def collect_while_paused() -> None:
    """Every 1024 recorded nodes: the youngest generation, or (at doubling counts) all."""
    if not GraphPause.ours or not gc.get_threshold()[0]:
        return
    GraphPause.recorded += 1024
    if GraphPause.recorded == 1024:  # a new pause: the automatic collector ran until just now
        return
    if GraphPause.recorded >= max(2 * GraphPause.at_last_full, 2**17):
        GraphPause.at_last_full = GraphPause.recorded
        gc.collect()
    else:
        gc.collect(0)


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a stretch of graph work (see GraphPause)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
