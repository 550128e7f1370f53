"""Operators and methods of Tensor, each a thin call into ``minigrad.ops``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops, shape_ops
from .tensor import STATE, Tensor


def _reflected(op: Any) -> Any:
    return lambda self, other: op(other, self)


def _compare(ufunc: Any) -> Any:
    def compare(self: Tensor, other: Any) -> np.ndarray:
        return ufunc(self.data, other.data if isinstance(other, Tensor) else other)

    return compare


def _in_place(symbol: str, ufunc: Any) -> Any:
    def update(self: Tensor, other: Any) -> Tensor:
        if self.requires_grad and STATE.grad_enabled:
            raise RuntimeError(
                f"x {symbol}= ...: an in-place change of a tensor that requires grad would "
                f"corrupt the graph that uses it. Write `x = x {symbol} y` to make a new node, or "
                f"update the values under `with mg.no_grad():` (as the optimizers do)."
            )
        ufunc(self.data, other.data if isinstance(other, Tensor) else other, out=self.data)
        return self

    return update


def _sum(self: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.sum_(self, axis, keepdims)


def _mean(self: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.mean(self, axis, keepdims)


def _max(self: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.max_(self, axis, keepdims)


def _install() -> None:
    methods = {
        "__add__": ops.add,
        "__radd__": _reflected(ops.add),
        "__sub__": ops.sub,
        "__rsub__": _reflected(ops.sub),
        "__mul__": ops.mul,
        "__rmul__": _reflected(ops.mul),
        "__truediv__": ops.div,
        "__rtruediv__": _reflected(ops.div),
        "__pow__": ops.power,
        "__rpow__": _reflected(ops.power),
        "__matmul__": ops.matmul,
        "__rmatmul__": _reflected(ops.matmul),
        "__neg__": ops.neg,
        "__getitem__": shape_ops.getitem,
        "__lt__": _compare(np.less),
        "__le__": _compare(np.less_equal),
        "__gt__": _compare(np.greater),
        "__ge__": _compare(np.greater_equal),
        "__eq__": _compare(np.equal),
        "__ne__": _compare(np.not_equal),
        "__iadd__": _in_place("+", np.add),
        "__isub__": _in_place("-", np.subtract),
        "__imul__": _in_place("*", np.multiply),
        "__itruediv__": _in_place("/", np.divide),
        "exp": ops.exp,
        "log": ops.log,
        "sqrt": ops.sqrt,
        "abs": ops.absolute,
        "__abs__": ops.absolute,
        "tanh": ops.tanh,
        "sigmoid": ops.sigmoid,
        "relu": ops.relu,
        "clip": ops.clip,
        "sum": _sum,
        "mean": _mean,
        "max": _max,
        "reshape": shape_ops.reshape,
        "transpose": shape_ops.transpose,
        "T": property(shape_ops.transpose),
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.__hash__ = object.__hash__  # defining __eq__ must not make Tensors unhashable


_install()
