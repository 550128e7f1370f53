"""The Tensor: a numpy array plus the links of the graph that made it.

A Tensor made by an op remembers the op's name, its parents, a vector-Jacobian product ``vjp``
and the values the VJP needs, by name (``saved``): given ``g = dL/d(this)``,
``vjp(g, **saved)`` returns ``dL/d(parent)`` for each parent. The math lives in ``minigrad.ops``
and ``minigrad.shape_ops`` (each op with its formula and an example); Tensor's methods are those
functions, so ``x.exp()`` is ``ops.exp(x)``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import dispatch, math_ops, ops, shape_ops  # complete before this module: see ops.py's end
from .graph import HOOKED
from .modes import DEFAULTS, OPEN, PER_THREAD
from .ops import NOTHING, creation_order


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

    # NOTE: slots for the fields every op sets; rare ones (hooks, recorded norms) fall back to
    # the class defaults below, so a node costs no memory for what it does not use.
    __slots__ = (
        "data", "grad", "requires_grad", "name", "op", "parents", "vjp", "saved", "scope", "_seq",
        "__dict__", "__weakref__",
    )
    grad_norm: float | None = None  # what backward(record=True) stores, for viz
    edge_grad_norms: tuple[float | None, ...] | None = None
    edge_running_norms: tuple[float | None, ...] | None = None
    backward_step: int | None = None
    grad_values: tuple[float, ...] | None = None
    version = 0  # bumped by every in-place operator
    _changed_at = -1  # the creation number taken by the latest in-place change
    last_change = -1  # class-wide: the latest in-place change of any tensor
    _retains_grad = False
    _hooks: list | None = None
    _detached_from: weakref.ref | None = None
    _created_at: str | None = None
    _pause = None  # every 1024th node holds the graph's GraphPause (see minigrad.graph)
    # numpy functions on Tensors run minigrad's ops (np.exp(t) is t.exp()): see minigrad.dispatch
    __array_ufunc__, __array_function__ = dispatch.array_ufunc, dispatch.array_function

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None,
                 dtype: Any = None) -> None:
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: only float tensors can require grad; this one has dtype "
                f"{self.data.dtype} (int and bool tensors are indices and masks). "
                f"Pass dtype=np.float64 to convert."
            )
        if requires_grad and self.data is data:
            self.data = self.data.copy()  # a parameter owns its values: updates stay inside
        self.requires_grad = bool(requires_grad)
        self.name, self.grad = name, None
        self.op, self.parents, self.vjp, self.saved = None, (), None, NOTHING
        modes = PER_THREAD.modes if OPEN else DEFAULTS  # modes.current(), inlined
        self.scope = modes.scope
        self._seq = next(creation_order)

    # ---- plain array facts --------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="The array's shape, as numpy's.")
    dtype = property(lambda self: self.data.dtype, doc="The array's dtype, as numpy's.")
    ndim = property(lambda self: self.data.ndim, doc="The number of axes.")
    size = property(lambda self: self.data.size, doc="The number of entries.")
    is_leaf = property(lambda self: self.op is None, doc="True when no op made this tensor.")
    released = property(lambda self: self.op is not None and self.vjp is None,
                        doc="True once a backward() without retain_graph freed the links.")

    @property
    def detached_from(self) -> Tensor | None:
        """The tensor this one was detached from, while it is alive (a weak reference)."""
        return None if self._detached_from is None else self._detached_from()

    def item(self) -> float:
        """The one entry as a Python number: ``Tensor([2.0]).item()`` is ``2.0``."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item; shape is {self.shape}")
        return self.data.item()

    def __float__(self) -> float: return float(self.item())  # item() refuses > 1 entry
    def __int__(self) -> int: return int(self.item())  # cut towards 0: int(Tensor([-2.7])) == -2

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Make this leaf a parameter (or not), in place: ``w = mg.zeros(3).requires_grad_()``."""
        if self.op is not None or (requires_grad and self.data.dtype.kind not in "fc"):
            raise RuntimeError(f"requires_grad_: only a float leaf can change it, not {self!r}")
        self.requires_grad = bool(requires_grad)
        return self

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied): ``Tensor([1.0]).numpy()``."""
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"bool: the truth of a tensor of shape {self.shape} is ambiguous "
                             f"(only a one-element tensor has one); use .any() or .all() on .data")
        return bool(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, threshold=20, edgeitems=2)
        extras = [f"name={self.name!r}"] if self.name else []
        if self.dtype != np.float64:
            extras.append(f"dtype={self.dtype}")
        if self.op is not None:
            extras.append(f"op={self.op!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"Tensor({', '.join([body, *extras])})"

    # Tensors are graph nodes: hashable by identity, so they can key dicts and sets.
    __hash__ = object.__hash__

    # ---- arithmetic: the functions of minigrad.ops, whose docstrings give the formulas -----
    __add__, __sub__, __mul__, __truediv__ = ops.add, ops.sub, ops.mul, ops.div
    __pow__, __matmul__, __neg__, __abs__ = ops.power, ops.matmul, ops.neg, ops.absolute
    __getitem__ = shape_ops.getitem
    def __radd__(self, other: Any) -> Tensor: return ops.add(other, self)
    def __rsub__(self, other: Any) -> Tensor: return ops.sub(other, self)
    def __rmul__(self, other: Any) -> Tensor: return ops.mul(other, self)
    def __rtruediv__(self, other: Any) -> Tensor: return ops.div(other, self)
    def __rpow__(self, other: Any) -> Tensor: return ops.power(other, self)
    def __rmatmul__(self, other: Any) -> Tensor: return ops.matmul(other, self)

    # ---- comparisons: plain boolean arrays, no gradient --------------------------------
    def __lt__(self, other: Any) -> np.ndarray: return self.data < ops.plain(other)
    def __le__(self, other: Any) -> np.ndarray: return self.data <= ops.plain(other)
    def __gt__(self, other: Any) -> np.ndarray: return self.data > ops.plain(other)
    def __ge__(self, other: Any) -> np.ndarray: return self.data >= ops.plain(other)
    def __eq__(self, other: Any) -> np.ndarray: return self.data == ops.plain(other)  # type: ignore
    def __ne__(self, other: Any) -> np.ndarray: return self.data != ops.plain(other)  # type: ignore

    # ---- in-place updates: only where no graph can see them -----------------------------
    def __iadd__(self, other: Any) -> Tensor: return self._update("+", np.add, other)
    def __isub__(self, other: Any) -> Tensor: return self._update("-", np.subtract, other)
    def __imul__(self, other: Any) -> Tensor: return self._update("*", np.multiply, other)
    def __itruediv__(self, other: Any) -> Tensor: return self._update("/", np.divide, other)

    def _update(self, symbol: str, ufunc: Any, other: Any) -> Tensor:
        if self.requires_grad and PER_THREAD.modes.grad_enabled:
            raise RuntimeError(
                f"x {symbol}= ...: an in-place change of a tensor that requires grad would "
                f"corrupt the graph that uses it. Write `x = x {symbol} y` to make a new node, or "
                f"update the values under `with mg.no_grad():` (as the optimizers do)."
            )
        ufunc(self.data, ops.plain(other), out=self.data)
        self.bump_version()
        return self

    def zero_(self) -> Tensor:
        """Set every entry to 0 in place, allowed where ``+=`` is: ``mg.zeros(2).zero_()``."""
        if self.requires_grad and PER_THREAD.modes.grad_enabled:
            raise RuntimeError("zero_: on a tensor that requires grad, call it in mg.no_grad()")
        self.data[...] = 0
        self.bump_version()
        return self

    def bump_version(self) -> None:
        """Mark ``.data`` as changed in place, so that backward refuses graphs that saved it."""
        self.version += 1
        # NOTE: the stamp comes from the creation counter: backward compares it with a node's
        # own number, so recording a node costs nothing extra for this check.
        self._changed_at = Tensor.last_change = next(creation_order)

    # ---- math: each method is the op itself (its docstring has the formula and an example) --
    exp, log, sqrt, abs, clip = ops.exp, ops.log, ops.sqrt, ops.absolute, ops.clip
    tanh, sigmoid, relu, astype = ops.tanh, ops.sigmoid, ops.relu, ops.astype
    sum, mean, max = ops.sum_, ops.mean, ops.max_
    sin, cos, sign, log1p = math_ops.sin, math_ops.cos, math_ops.sign, math_ops.log1p
    expm1, min, argmax, argmin = math_ops.expm1, math_ops.min_, math_ops.argmax, math_ops.argmin
    prod, cumsum, var, std = math_ops.prod, math_ops.cumsum, math_ops.var, math_ops.std
    logsumexp, maximum, minimum = math_ops.logsumexp, math_ops.maximum, math_ops.minimum
    reshape, view, transpose = shape_ops.reshape, shape_ops.reshape, shape_ops.transpose
    squeeze, unsqueeze, flatten = shape_ops.squeeze, shape_ops.unsqueeze, shape_ops.flatten
    repeat, split, expand = shape_ops.repeat, shape_ops.split, shape_ops.broadcast_to
    broadcast_to = expand
    T = property(shape_ops.transpose, doc="The axes reversed: ``W.T`` for a matrix ``W``.")

    # ---- graph utilities ----------------------------------------------------------------
    def detach(self) -> Tensor:
        """A leaf sharing this tensor's data, cut from the graph: ``h = h.detach()``."""
        out = Tensor(self.data, name=self.name)
        out._detached_from = weakref.ref(self)
        return out

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this intermediate tensor after ``backward()``: ``h.retain_grad()``."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so it gets none")
        self._retains_grad = True
        return self

    def register_hook(self, fn: Callable[[np.ndarray], np.ndarray | None]) -> Callable[[], None]:
        """Call ``fn(grad)`` when this tensor's gradient is complete during ``backward()``.

        If ``fn`` returns an array, it replaces the gradient (same shape). Returns a function
        that removes the hook: ``remove = h.register_hook(print)``.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad; no hook can run")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        HOOKED[id(self)] = self
        return lambda: self._hooks.remove(fn) if fn in self._hooks else None

    def zero_grad(self) -> None:
        """Forget the accumulated gradient: ``W.zero_grad()`` sets ``W.grad = None``."""
        self.grad = None

    def backward(self, grad: Any = None, retain_graph: bool = False, record: bool = False,
                 create_graph: bool = False) -> None:
        """Reverse mode: add ``d self / d leaf`` into every leaf's ``.grad``: ``loss.backward()``.

        ``create_graph=True`` makes each ``.grad`` a Tensor with a graph, to differentiate again.
        See ``minigrad.autograd.backward``.
        """
        from .autograd import backward
        backward(self, grad, retain_graph, record, create_graph)
