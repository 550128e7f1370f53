"""Modules: containers of parameters, found by one rule.

A module's parameters are its Tensor attributes that require grad, plus those of its sub-modules
and of lists (or tuples) of modules, each counted once, in attribute order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .tensor import Tensor


class Module:
    """Base class: subclasses set Tensor and Module attributes and define ``forward``."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, parameter) pairs; a tensor shared by two attributes comes once."""
        seen: set[int] = set()
        pending: list[tuple[str, Any]] = [("", self)]
        while pending:
            prefix, module = pending.pop(0)
            children: list[tuple[str, Any]] = []
            for name, value in vars(module).items():
                items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
                for i, item in items:
                    full = prefix + name + ("" if i is None else f".{i}")
                    if isinstance(item, Tensor) and item.requires_grad and id(item) not in seen:
                        seen.add(id(item))
                        yield full, item
                    elif isinstance(item, Module) and id(item) not in seen:
                        seen.add(id(item))
                        children.append((full + ".", item))
            pending[:0] = children

    def parameters(self) -> list[Tensor]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy values into the parameters (in place); names and shapes must match exactly."""
        params = dict(self.named_parameters())
        missing, unexpected = sorted(set(params) - set(state)), sorted(set(state) - set(params))
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing {missing}, unexpected {unexpected}")
        for name, p in params.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(
                    f"load_state_dict: '{name}' has shape {p.shape}, the state has {value.shape}"
                )
            p.data[...] = value


class Linear(Module):
    """y = x W^T + b, with W (out_features, in_features) as in PyTorch, uniform(+-1/sqrt(in))."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, seed: int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Tensor(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype),
                             requires_grad=True, name="weight")
        self.bias = (Tensor(rng.uniform(-bound, bound, out_features).astype(dtype),
                            requires_grad=True, name="bias") if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.weight.shape[1]:
            raise ValueError(
                f"Linear: input has {x.shape[-1]} features (shape {x.shape}), the layer expects "
                f"{self.weight.shape[1]}"
            )
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias


class Embedding(Module):
    """Row lookup: y = weight[indices], weight (num_embeddings, dim) from N(0, 1).

    Repeated indices accumulate their gradients into the same row.
    """

    def __init__(self, num_embeddings: int, dim: int, seed: int | None = None,
                 dtype: Any = np.float64) -> None:
        rng = np.random.default_rng(seed)
        self.weight = Tensor(rng.standard_normal((num_embeddings, dim)).astype(dtype),
                             requires_grad=True, name="weight")

    def forward(self, indices: Any) -> Tensor:
        idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {idx.dtype}")
        n = self.weight.shape[0]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(
                f"Embedding: indices must lie in -{n}..{n - 1}, got {idx.min()}..{idx.max()}"
            )
        return self.weight[idx]
