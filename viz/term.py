"""The term view: one term of the notes' sum over k, drawn and measured.

The notes write ``dL_t/dW = sum_{k=1..t} dL_t/dyhat_t dyhat_t/dh_t (prod_{i=k+1..t}
dh_i/dh_{i-1}) dh_k/dW``. Its k-th term is the gradient of the loss ``L_t`` alone with respect to
step k's use of ``W``: give that use its own copy ``W_k`` and the term is ``dL_t/dW_k``. The
engine computes exactly that when ``L_t.backward()`` runs on the unrolled graph: the gradient the
op using ``W`` at step k sends back to ``W``. ``term_norm`` runs that backward and then puts
every gradient and recorded norm of the graph back as it was, so a drawing of ``L``'s gradients
is not disturbed (hooks registered on the graph's tensors do run during it).

The path of the term, ``L_t -> yhat_t -> h_t -> h_{t-1} -> ... -> h_k -> step k's use of W``, is
every tensor that both depends on that use and feeds ``L_t``.
"""

from __future__ import annotations

import re
from typing import Any

import minigrad as mg

from . import style
from .graph import COPY, ViewGraph

RECORDED = ("grad_norm", "edge_grad_norms", "edge_running_norms", "backward_step", "grad_values")
_STEP = re.compile(r"^t=(\d+)$")


def check(term: Any) -> tuple[int, int]:
    """``term`` as a pair of ints (t, k), or a clear error."""
    if (
        not isinstance(term, (tuple, list))
        or len(term) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in term)
    ):
        raise TypeError(f"viz: term must be a pair of step numbers (t, k), got {term!r}")
    return int(term[0]), int(term[1])


def step_of(tensor: Any) -> int | None:
    """The ``t=N`` scope a tensor was made in, innermost first."""
    for part in reversed(tensor.scope.split("/")):
        match = _STEP.match(part)
        if match:
            return int(match.group(1))
    return None


def find(order: list, term: tuple[int, int], param: Any) -> tuple[Any, Any, int]:
    """``(L_t, the op using param at step k, its operand index)``; errors name what is wrong."""
    t, k = term
    steps = sorted({s for s in (step_of(x) for x in order) if s is not None})
    if not steps:
        raise ValueError("viz: term= needs a graph unrolled in time steps (scopes t=1, t=2, ...)")
    if not (steps[0] <= k <= t <= steps[-1]):
        raise ValueError(
            f"viz: term=(t, k) = ({t}, {k}) is not a term of the sum: it needs "
            f"{steps[0]} <= k <= t <= {steps[-1]} (k counts the steps up to t in this graph)"
        )
    losses = [x for x in order if x.name == f"L_{t}"]
    if len(losses) != 1:
        raise ValueError(
            f"viz: term=({t}, {k}) needs the loss of step {t} alone, a tensor named L_{t}, in this "
            f"graph (models' sequence_loss names it); found {len(losses)}"
        )
    name = param.name or "the parameter"
    uses = [
        (x, i) for x in order if step_of(x) == k for i, p in enumerate(x.parents) if p is param
    ]
    if len(uses) != 1:
        raise ValueError(
            f"viz: term=({t}, {k}) needs {name} used exactly once at step {k}; "
            f"it is used {len(uses)} times there"
        )
    return losses[0], uses[0][0], uses[0][1]


def term_norm(root: Any, term: tuple[int, int], param: Any) -> float:
    """``||dL_t/dP_k||``: the norm of the k-th term of ``dL_t/dP`` in the graph behind ``root``
    (after ``backward(retain_graph=True)``), for a parameter ``P`` used once per step."""
    if not isinstance(param, mg.Tensor) or param.op is not None:
        raise TypeError("viz: the parameter of a term must be a leaf Tensor (W, V, b_h, ...)")
    order = mg.topological_order(root)
    loss_t, use, index = find(order, check(term), param)
    return _replay(order, loss_t, use, index)[0]


def _replay(order: list, loss_t: Any, use: Any, index: int) -> tuple[float, dict]:
    """Backward of ``loss_t`` alone: the norm ``use`` sends to its operand ``index``, and what
    backward recorded on every tensor (``{id: (grad_norm, edge_grad_norms)}``, None where it did
    not reach); then every gradient (in place, so arrays others hold are unchanged) and recorded
    norm as before."""
    grads = [(x, x.grad, None if x.grad is None else x.grad.copy()) for x in order]
    recorded = [(x, [getattr(x, a) for a in RECORDED]) for x in order]
    try:
        for x in order:  # so that a tensor L_t's backward does not reach records nothing
            for attr in RECORDED:
                setattr(x, attr, None)
        loss_t.backward(retain_graph=True, record=True)
        norm = use.edge_grad_norms[index]
        seen = {id(x): (x.grad_norm, x.edge_grad_norms) for x in order}
    finally:
        for x, array, values in grads:
            if array is not None:
                array[...] = values
            x.grad = array
        for x, saved in recorded:
            for attr, value in zip(RECORDED, saved, strict=True):
                setattr(x, attr, value)
    return (0.0 if norm is None else norm), seen


def apply(view: ViewGraph, order: list, term: tuple[int, int], param: Any) -> None:
    """Bold exactly the term's path, fade the rest, and title the drawing with its norm."""
    loss_t, use, index = find(order, term, param)
    norm, seen = _replay(order, loss_t, use, index)
    after = {id(use)}
    for x in order:  # topological: a tensor is after the use if one of its parents is
        if any(id(p) in after for p in x.parents):
            after.add(id(x))
    before = {id(loss_t)}
    for x in reversed(order):
        if id(x) in before:
            before.update(id(p) for p in x.parents)
    path = after & before
    copies = [n for n in view.nodes if n.kind == COPY and n.tensor is param]
    for node in view.nodes:
        if node.kind == COPY:
            on = node.tensor is param and node.cluster.step_of() == term[1]
        else:
            on = node.tensor is not None and (
                id(node.tensor) in path or (node.tensor is param and not copies)
            )
        node.emphasis = "bold" if on else "faded"
    for edge in view.edges:
        on = edge.tail.emphasis == edge.head.emphasis == "bold" and edge.style != "sum"
        if edge.tail.tensor is param and edge.tail.kind != COPY:  # drawn once: one use is k's
            on = on and edge.head.cluster is not None and edge.head.cluster.step_of() == term[1]
        edge.emphasis = "bold" if on else "faded"
        if on and edge.origin is not None:  # the term's own gradient, L_t's alone
            tensor, operand = edge.origin
            grad_norm, edge_norms = seen.get(id(tensor), (None, None))
            edge.norm = grad_norm if operand < 0 else (edge_norms[operand] if edge_norms else None)
    t, k = term
    view.term_title = (
        f"term k={k} of dL_{t}/d{param.name or 'P'}: ||term|| = {style.fmt_norm(norm)}"
    )
