"""Optimizers: update parameters in place from their ``.grad``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .tensor import Tensor


class Optimizer:
    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.lr = _number(type(self).__name__, "lr", lr, low=0.0)

    def _check(self, name: str, value: float, low: float, high: float | None = None,
               low_ok: bool = False) -> float:
        """``value`` checked by ``_number`` with this optimizer's name in the message."""
        return _number(type(self).__name__, name, value, low, high, low_ok)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    """v <- momentum v + g;  p <- p - lr v  (plain SGD when momentum = 0)."""

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = self._check("momentum", momentum, 0.0, 1.0, low_ok=True)
        self.weight_decay = self._check("weight_decay", weight_decay, 0.0, low_ok=True)
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        for p, v in zip(self.params, self.velocity):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v *= self.momentum
                v += g
                g = v
            p.data -= self.lr * g
            p.bump_version()  # graphs that saved the old values refuse to backward


class Adam(Optimizer):
    """m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  p <- p - lr m^ / (sqrt(v^) + eps),
    with the bias corrections m^ = m / (1 - b1^t), v^ = v / (1 - b2^t)."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (b1, b2), got {betas!r}")
        self.betas = tuple(self._check(f"betas[{i}]", b, 0.0, 1.0, low_ok=True)
                           for i, b in enumerate(betas))
        self.eps = self._check("eps", eps, 0.0)
        self.weight_decay = self._check("weight_decay", weight_decay, 0.0, low_ok=True)
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        correction1, correction2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p.data -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)
            p.bump_version()


def _number(owner: str, name: str, value: float, low: float, high: float | None = None,
            low_ok: bool = False) -> float:
    """``value`` as a float when finite and in (low, high) (``low`` itself if ``low_ok``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}") from None
    above = number >= low if low_ok else number > low
    if not (math.isfinite(number) and above and (high is None or number < high)):
        if high is None:
            allowed = f"{'>=' if low_ok else '>'} {low:g}"
        else:
            allowed = f"in {'[' if low_ok else '('}{low:g}, {high:g})"
        raise ValueError(f"{owner}: {name} must be a finite number {allowed}, got {value!r}")
    return number


def clip_grad_norm(params: Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    Returns the norm before clipping. ``max_norm`` must be positive (``inf``: never clip); a
    negative one would flip the gradient's sign and train uphill.
    """
    if not max_norm > 0:  # also refuses nan, for which every comparison is False
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm}")
    grads = [p.grad for p in params if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    if total > max_norm:
        scale = max_norm / (total + 1e-12)
        for g in grads:
            g *= scale
    return total
