"""Modules: containers of parameters, found by one rule.

A module's parameters are its Tensor attributes that require grad, plus those of its sub-modules
and of lists (or tuples) of modules, each counted once, in attribute order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .ops import lift
from .tensor import Tensor


class Module:
    """Base class: subclasses set Tensor and Module attributes and define ``forward``."""

    training = True  # a class default, so subclasses need not call Module.__init__

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

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, by attribute name ("layers.0" for an item of a list)."""
        for name, value in vars(self).items():
            items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
            for i, item in items:
                if isinstance(item, Module):
                    yield name + ("" if i is None else f".{i}"), item

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, each once: ``len(list(model.modules()))``."""
        seen: set[int] = set()
        pending: list[Module] = [self]
        while pending:
            module = pending.pop(0)
            if id(module) not in seen:
                seen.add(id(module))
                yield module
                pending[:0] = [child for _, child in module.named_children()]

    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every one inside it: ``model.train()``."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: evaluation mode, for this module and those inside it."""
        return self.train(False)

    def extra_repr(self) -> str:
        """What ``repr`` shows inside the parentheses: by default, the own parameters' shapes."""
        return ", ".join(f"{name}={value.shape}" for name, value in vars(self).items()
                         if isinstance(value, Tensor) and value.requires_grad)

    def __repr__(self) -> str:
        """PyTorch's tree: the class name, then each sub-module as ``(name): ...``, indented."""
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        extra = f"  {self.extra_repr()}\n" if self.extra_repr() else ""
        return f"{type(self).__name__}(\n{extra}" + "\n".join(children) + "\n)"

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

    def extra_repr(self) -> str:
        out_features, in_features = self.weight.shape
        bias = self.bias is not None
        return f"in_features={in_features}, out_features={out_features}, bias={bias}"

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

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"

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


class Sequential(Module):
    """Modules applied in order, as PyTorch's: ``Sequential(Linear(2, 4), ReLU(), Linear(4, 1))``.

    The modules are attributes "0", "1", ... so parameter names read "0.weight", as in PyTorch;
    ``seq[i]``, ``len(seq)`` and iteration give them back.
    """

    def __init__(self, *modules: Module) -> None:
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {i} is a {type(module).__name__}, not a Module")
            setattr(self, str(i), module)

    def __getitem__(self, i: int | slice) -> Module:
        return Sequential(*list(self)[i]) if isinstance(i, slice) else list(self)[i]

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __iter__(self) -> Iterator[Module]:
        return (m for m in vars(self).values() if isinstance(m, Module))

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class ReLU(Module):
    """max(x, 0) as a module: ``ReLU()(x)`` is ``x.relu()``."""

    def forward(self, x: Any) -> Tensor:
        return lift(x).relu()


class Tanh(Module):
    """tanh as a module: ``Tanh()(x)`` is ``x.tanh()``."""

    def forward(self, x: Any) -> Tensor:
        return lift(x).tanh()


class Sigmoid(Module):
    """1 / (1 + e^-x) as a module: ``Sigmoid()(x)`` is ``x.sigmoid()``."""

    def forward(self, x: Any) -> Tensor:
        return lift(x).sigmoid()
