"""The Tensor: a numpy array plus the links of the graph that made it.

A Tensor made by an op remembers the op's name, its parents, a vector-Jacobian product (``vjp``)
and what the VJP needs (``saved``): given ``g = dL/d(this)``, ``vjp(g, *saved)`` returns
``dL/d(parent)`` for each parent. The math lives in ``minigrad.ops``; this module only holds data,
links, and the global modes (grad on/off, name scope, anomaly detection).
"""

from __future__ import annotations

import contextlib
import itertools
import traceback
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


class _State:
    """Global switches read on every op (one attribute lookup each)."""

    __slots__ = ("grad_enabled", "scope", "anomaly")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope = ""
        self.anomaly = False


STATE = _State()
# Every tensor takes the next number when it is made, so parents always number below children:
# sorting by it is a topological order.
_creation_order = itertools.count()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside: results are leaves without graph links."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


class scope:  # noqa: N801  (used like a function: `with mg.scope("t=3"):`)
    """Stamp every node made inside with ``name``; nested scopes join with "/".

    A small class rather than a generator: an unrolled RNN enters one scope per step.
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"scope: the name must be a non-empty string, got {name!r}")
        self.name = name

    def __enter__(self) -> None:
        self.previous = STATE.scope
        STATE.scope = f"{self.previous}/{self.name}" if self.previous else self.name

    def __exit__(self, *exc_info: object) -> None:
        STATE.scope = self.previous


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Check every forward result and every gradient for NaN/Inf and raise at the first one.

    Inside this mode each node also records the line of user code that created it, so the error
    can point at it. Outside it, nothing of this is done.
    """
    previous = STATE.anomaly
    STATE.anomaly = True
    try:
        yield
    finally:
        STATE.anomaly = previous


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared in a forward value or in a gradient under ``detect_anomaly()``."""


def _user_line() -> str:
    """The innermost stack frame outside the minigrad package, as 'file:line: code'."""
    package_dir = __file__.rsplit("/", 1)[0]
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not frame.filename.startswith(package_dir):
            return f"{frame.filename}:{frame.lineno}: {frame.line}"
    return "<unknown>"


def _describe(node: Tensor) -> str:
    where = f" in scope '{node.scope}'" if node.scope else ""
    created = f"\n  created at {node._created_at}" if node._created_at else ""
    return f"op '{node.op}'{where}{created}"


def check_finite(array: np.ndarray, node: Tensor, what: str) -> None:
    """Anomaly mode: raise if ``array`` (a value or gradient of ``node``) has NaN/Inf."""
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = "NaN" if np.isnan(array).any() else "Inf"
        raise AnomalyError(f"detect_anomaly: {bad} in the {what} of {_describe(node)}")


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype.kind in "iuf":  # Python numbers and lists of them compute in float64
        return array.astype(np.float64)
    if array.dtype.kind == "b":
        return array
    raise TypeError(f"Tensor: cannot make a tensor of {type(data).__name__} (dtype {array.dtype})")


class Tensor:
    """An n-dimensional array that records the ops applied to it.

    ``Tensor(data, requires_grad=False, name=None, dtype=None)``: Python numbers and lists become
    float64; numpy float arrays keep their dtype; int and bool arrays stay int/bool (indices,
    masks) and cannot require grad. ``dtype=`` converts.
    """

    # The fields every op sets live in slots; the rarely set ones (hooks, recorded norms, ...)
    # fall back to the class defaults below until an instance sets its own.
    __slots__ = (
        "data", "grad", "requires_grad", "name", "op", "parents", "vjp", "saved", "scope", "_seq",
        "__dict__", "__weakref__",
    )
    grad_norm: float | None = None
    edge_grad_norms: tuple[float | None, ...] | None = None
    edge_running_norms: tuple[float | None, ...] | None = None
    backward_step: int | None = None
    grad_values: tuple[float, ...] | None = None
    _retains_grad = False
    _hooks: list | None = None
    _detached_from: weakref.ref | None = None
    _created_at: str | None = None
    # ndarray op Tensor defers to Tensor's reflected operator instead of building object arrays.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: only float tensors can require grad; this one has dtype "
                f"{self.data.dtype} (int and bool tensors are indices and masks). "
                f"Pass dtype=np.float64 to convert."
            )
        if requires_grad and self.data is data:
            # a parameter owns its values: in-place updates never reach the caller's array
            self.data = self.data.copy()
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.grad: np.ndarray | None = None
        self.op: str | None = None
        self.parents: tuple[Tensor, ...] = ()
        self.vjp: Callable[..., tuple] | None = None
        self.saved: tuple = ()
        self.scope = STATE.scope
        self._seq = next(_creation_order)

    # ---- plain array facts --------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    @property
    def released(self) -> bool:
        """True once a backward() without retain_graph has freed this node's links."""
        return self.op is not None and self.vjp is None

    @property
    def detached_from(self) -> Tensor | None:
        """The tensor this one was detached from, while it is alive (a weak reference)."""
        return None if self._detached_from is None else self._detached_from()

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item; shape is {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, threshold=20, edgeitems=2)
        extras = []
        if self.name:
            extras.append(f"name={self.name!r}")
        if self.dtype != np.float64:
            extras.append(f"dtype={self.dtype}")
        if self.op is not None:
            extras.append(f"op={self.op!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        tail = ", ".join(extras)
        return f"Tensor({body}{', ' + tail if tail else ''})"

    # Tensors are graph nodes: hashable by identity, so they can key dicts and sets.
    __hash__ = object.__hash__

    # ---- graph utilities ----------------------------------------------------------------
    def detach(self) -> Tensor:
        """A leaf sharing this tensor's data, cut from the graph; remembers its source weakly."""
        out = Tensor(self.data)
        out.name = self.name
        out._detached_from = weakref.ref(self)
        return out

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this intermediate tensor after ``backward()`` (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so it gets none")
        self._retains_grad = True
        return self

    def register_hook(self, fn: Callable[[np.ndarray], np.ndarray | None]) -> Callable[[], None]:
        """Call ``fn(grad)`` when this tensor's gradient is complete during ``backward()``.

        If ``fn`` returns an array, it replaces the gradient. Returns a function that removes
        the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad; no hook can run")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return lambda: self._hooks.remove(fn) if fn in self._hooks else None

    def zero_grad(self) -> None:
        self.grad = None

    def astype(self, dtype: Any) -> Tensor:
        from .ops import astype

        return astype(self, dtype)

    def backward(
        self, grad: Any = None, retain_graph: bool = False, record: bool = False
    ) -> None:
        """Reverse mode: accumulate ``d self / d leaf`` into every leaf's ``.grad``.

        See ``minigrad.autograd.backward``.
        """
        from .autograd import backward

        backward(self, grad, retain_graph=retain_graph, record=record)


def make_node(
    data: np.ndarray,
    op: str,
    parents: tuple[Tensor, ...],
    vjp: Callable[..., tuple],
    saved: tuple = (),
) -> Tensor:
    """Wrap an op's result; link it to its parents when a gradient can flow through it.

    ``vjp(g, *saved)`` gives the gradient for each parent (see ``minigrad.ops``).
    """
    out = Tensor.__new__(Tensor)
    # numpy returns scalars, not 0-d arrays, from full reductions and ufuncs on 0-d arrays
    out.data = data if type(data) is np.ndarray else np.asarray(data)
    out.grad = None
    out.name = None
    out.scope = STATE.scope
    out._seq = next(_creation_order)
    if STATE.grad_enabled:
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out.op, out.parents, out.vjp, out.saved = op, parents, vjp, saved
                break
        else:
            out.requires_grad, out.op, out.parents, out.vjp, out.saved = False, None, (), None, ()
    else:
        out.requires_grad, out.op, out.parents, out.vjp, out.saved = False, None, (), None, ()
    if STATE.anomaly:
        out.op = op
        out._created_at = _user_line()
        check_finite(data, out, "forward value")
        if not out.requires_grad:
            out.op = None
    return out
