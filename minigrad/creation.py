"""Making tensors with PyTorch's names: tensor, zeros, ones, full, arange, eye, randn, ..._like.

Shapes are given as numpy and PyTorch accept them, ``zeros(2, 3)`` or ``zeros((2, 3))``. Floats
are float64 unless ``dtype=`` says otherwise (PyTorch's default is float32; numpy's is float64,
and float64 keeps finite-difference checks exact enough to teach with).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor


def _shape(name: str, shape: tuple) -> tuple[int, ...]:
    """``(2, 3)`` from ``(2, 3)`` or ``((2, 3),)``; a clear error for anything else."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{name}: a shape is whole numbers, got {shape}")
    if any(n < 0 for n in shape):
        raise ValueError(f"{name}: a shape has no negative sizes, got {shape}")
    return tuple(int(n) for n in shape)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new leaf holding a copy of ``data``, as ``torch.tensor``.

    ``mg.tensor([1, 2])`` is ``[1., 2.]``.

    Python numbers and lists become float64 (``dtype=np.int64`` for class labels); numpy arrays
    keep their dtype. The copy means later changes to ``data`` never reach the tensor.
    """
    source = data.data if isinstance(data, Tensor) else data
    return Tensor(np.array(Tensor(source, dtype=dtype).data), requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``mg.zeros(2, 3).shape`` is ``(2, 3)``, so is ``mg.zeros((2, 3))``'s."""
    return Tensor(np.zeros(_shape("zeros", shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``mg.ones(3)`` is ``[1., 1., 1.]``."""
    return Tensor(np.ones(_shape("ones", shape), dtype=dtype), requires_grad=requires_grad)


def full(shape: Any, fill_value: float, dtype: Any = np.float64,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with one value: ``mg.full(2, 0.5)`` is ``[0.5, 0.5]``."""
    dims = _shape("full", (shape,) if isinstance(shape, (int, np.integer)) else (tuple(shape),))
    return Tensor(np.full(dims, fill_value, dtype=dtype), requires_grad=requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy's and PyTorch's ``arange``.

    Whole-number arguments give int64 (indices), any float gives float64:
    ``mg.arange(3)`` is ``[0, 1, 2]``, ``mg.arange(0, 1, 0.25)`` is ``[0., 0.25, 0.5, 0.75]``.
    """
    if step == 0:
        raise ValueError("arange: step must not be 0")
    values = np.arange(start, step=step, dtype=dtype) if stop is None else np.arange(
        start, stop, step, dtype=dtype)
    return Tensor(values, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = np.float64,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix, n x m (m = n by default): ``mg.eye(2)`` is ``[[1., 0.], [0., 1.]]``."""
    rows, cols = _shape("eye", (n, n if m is None else m))
    return Tensor(np.eye(rows, cols, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``t``'s shape and dtype: ``mg.zeros_like(mg.ones(2))`` is ``[0., 0.]``."""
    like = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(np.zeros_like(like, dtype=dtype), requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``t``'s shape and dtype: ``mg.ones_like(mg.zeros(2))`` is ``[1., 1.]``."""
    like = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(np.ones_like(like, dtype=dtype), requires_grad=requires_grad)


def randn(*shape: Any, rng: Any = None, dtype: Any = np.float64,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples: ``mg.randn(2, 3, rng=np.random.default_rng(0)).shape`` is
    ``(2, 3)``.

    ``rng`` is a numpy Generator (or a seed); None draws fresh entropy, as numpy does.
    """
    values = np.random.default_rng(rng).standard_normal(_shape("randn", shape))
    return Tensor(values.astype(dtype, copy=False), requires_grad=requires_grad)
