"""The switches every op reads: grad recording on/off, the name scope, anomaly detection.

Each thread has its own (as in PyTorch): ``no_grad()`` in one thread never changes what another
records, and a new thread starts with grad enabled, no scope and anomaly detection off.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor


class Modes:
    """The switches of one thread."""

    __slots__ = ("grad_enabled", "scope", "anomaly", "blocks")

    def __init__(self) -> None:
        self.grad_enabled, self.scope, self.anomaly = True, "", False
        self.blocks = 0  # mode blocks (no_grad, scope, detect_anomaly) this thread has open


class _PerThread(threading.local):
    """``__init__`` runs again in each thread that reads it: each thread gets fresh Modes."""

    def __init__(self) -> None:
        self.modes = Modes()


PER_THREAD = _PerThread()
DEFAULTS = Modes()  # never changed: the modes of every thread outside all mode blocks
# The modes of the threads that have a mode block open now. NOTE: a set, not a shared counter:
# add and discard are atomic (one thread changes only its own entry), ``+=`` on a number is not.
OPEN: set[Modes] = set()


def current() -> Modes:
    """This thread's modes.

    NOTE: while no thread has a mode block open, every thread has the defaults, so ops skip the
    per-thread lookup, which costs as much as the rest of an op's bookkeeping. Ops inline this.
    """
    return PER_THREAD.modes if OPEN else DEFAULTS


def _open_block() -> Modes:
    """Count a mode block this thread opens; returns this thread's modes."""
    modes = PER_THREAD.modes
    if not modes.blocks:
        OPEN.add(modes)
    modes.blocks += 1
    return modes


def _close_block(modes: Modes) -> None:
    modes.blocks -= 1
    if not modes.blocks:
        OPEN.discard(modes)


@contextlib.contextmanager
def _switched(switch: str, value: bool) -> Iterator[None]:
    """Set one of this thread's switches inside the block, counted while it is open."""
    modes = _open_block()
    previous = getattr(modes, switch)
    setattr(modes, switch, value)
    try:
        yield
    finally:
        setattr(modes, switch, previous)
        _close_block(modes)


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Record nothing inside: ``with mg.no_grad(): y = x * 2`` makes ``y`` a leaf."""
    return _switched("grad_enabled", False)


class scope:  # noqa: N801  (used like a function: `with mg.scope("t=3"):`)
    """Stamp every node made inside with ``name``; nested scopes join with "/".

    ``with mg.scope("t=3"): h = (x @ W).tanh()`` gives ``h.scope == "t=3"``. A small class rather
    than a generator because an unrolled RNN enters one scope per step; it keeps a stack of the
    scopes it replaced, so one object can be entered again while it is open.
    """

    __slots__ = ("name", "_outer")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"scope: the name must be a non-empty string, got {name!r}")
        self.name = name
        self._outer: tuple | None = None  # the scopes it replaced, as (latest, (earlier, ...))

    def __enter__(self) -> None:
        modes = _open_block()
        self._outer = (modes.scope, self._outer)
        modes.scope = f"{modes.scope}/{self.name}" if modes.scope else self.name

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        modes = PER_THREAD.modes
        modes.scope, self._outer = self._outer
        _close_block(modes)


def detect_anomaly() -> contextlib.AbstractContextManager[None]:
    """Check every forward value and gradient for NaN/Inf and raise at the first one.

    Inside this mode each node also records the line of user code that created it, so the
    error can point at it. Outside it, none of this costs anything.
    """
    return _switched("anomaly", True)


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared in a forward value or in a gradient under ``detect_anomaly()``."""


def user_line() -> str:
    """The innermost stack frame outside the minigrad package, as 'file:line: code'."""
    package_dir = __file__.rsplit("/", 1)[0]
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not frame.filename.startswith(package_dir):
            return f"{frame.filename}:{frame.lineno}: {frame.line}"
    return "<unknown>"


def describe(node: Tensor) -> str:
    """"op 'tanh' in scope 't=3'" plus where it was made (or "leaf 'W'"), for error messages."""
    if node.op is None:
        return f"leaf '{node.name}'" if node.name else f"a leaf of shape {node.shape}"
    where = f" in scope '{node.scope}'" if node.scope else ""
    created = f"\n  created at {node._created_at}" if node._created_at else ""
    return f"op '{node.op}'{where}{created}"


def check_finite(array: np.ndarray, node: Tensor, what: str) -> None:
    """Anomaly mode: raise if ``array`` (a value or gradient of ``node``) has NaN/Inf."""
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = "NaN" if np.isnan(array).any() else "Inf"
        raise AnomalyError(f"detect_anomaly: {bad} in the {what} of {describe(node)}")
