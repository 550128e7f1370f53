"""The words of the step-through page: what happens in each frame of the backward pass.

Every number comes from the engine's recording (``grad_norm``, ``grad_values``,
``edge_grad_norms``, ``edge_running_norms``); here they are only formatted. Where the graph is
the RNN of the notes (parameters ``V``, ``W``, ``U``, tensors ``a_t``, ``h_t``, ``yhat_t``,
``L_t`` in scopes ``t=k``), a frame also says what happens in the notes' terms.
"""

from __future__ import annotations

import re
from typing import Any

from . import style

STEP = re.compile(r"(?:^|/)t=(\d+)$")
NOTES_NAME = re.compile(r"^(a|h|z|yhat|L)_(\d+)$")
NOTES_PARAMS = {"V", "W", "U"}


def step_of(tensor: Any) -> int | None:
    """The time step of a tensor made inside scope ``t=k`` (or None)."""
    match = STEP.search(tensor.scope or "")
    return int(match.group(1)) if match else None


def name(tensor: Any, depth: int = 2) -> str:
    """How a tensor is called in words: its name, or a short formula of its op (unnamed inputs
    written as formulas ``depth`` levels deep, then ``op(...)``)."""
    if tensor.name:
        return tensor.name
    if tensor.op is None:
        return _constant(tensor)
    if depth == 0:
        return f"{tensor.op}(...)"
    parents = tensor.parents
    if tensor.op == "transpose" and parents:
        return name(parents[0], depth - 1) + "^T"
    used = _use_of_parameter(tensor)
    if used is not None:  # x @ P.T in code is P x in the notes' column form
        param, other = used
        return f"{param.name} {_input(other, 'x', depth - 1)}"
    # a constant beside a prediction yhat_t is its target, y_t in the notes
    target = any((p.name or "").startswith("yhat_") for p in parents)
    inputs = [_input(p, "y" if target else "", depth - 1) for p in parents]
    if tensor.op in ("add", "sub", "mul") and len(parents) == 2:
        sign = {"add": "+", "sub": "-", "mul": "*"}[tensor.op]
        return f"{inputs[0]} {sign} {inputs[1]}"
    return f"{tensor.op}({', '.join(inputs)})"


def _input(tensor: Any, letter: str, depth: int) -> str:
    """An op's input in words; an unnamed constant array of step t is called ``{letter}_t``
    (the notes' ``x_t`` or ``y_t``) where the op says which it is."""
    step = step_of(tensor)
    if tensor.op is None and not tensor.name and letter and step is not None:
        if tensor.data.size > 1:
            return f"{letter}_{step}"
    return name(tensor, depth)


def _constant(tensor: Any) -> str:
    if tensor.data.size == 1:
        return f"{tensor.data.item():.4g}"
    return "constant"


def _use_of_parameter(tensor: Any) -> tuple[Any, Any] | None:
    """(P, x) when ``tensor`` is ``x @ P.T`` for a named parameter P: the notes' ``P x``."""
    if tensor.op != "matmul" or len(tensor.parents) != 2:
        return None
    left, right = tensor.parents
    if right.op == "transpose" and right.parents:
        param = right.parents[0]
        if param.op is None and param.requires_grad and param.name:
            return param, left
    return None


def d(root: str, of: str) -> str:
    """``dL/dh_3``, with parentheses around a formula."""
    return f"d{root}/d{of}" if " " not in of else f"d{root}/d({of})"


def norm(value: float | None) -> str:
    return style.fmt_norm(value)


def arriving(tensor: Any, root: str, label: str) -> str:
    """The gradient that arrived at ``tensor`` (called ``label``): its values (signed) when it
    has at most 4 entries, else its norm."""
    grad = d(root, label)
    if tensor.grad_values is not None:
        values = ", ".join(f"{v:+.4g}" for v in tensor.grad_values)
        shown = values if len(tensor.grad_values) == 1 else f"[{values}]"
        return f"{grad} = {shown}   (||{grad}|| = {norm(tensor.grad_norm)})"
    return f"||{grad}|| = {norm(tensor.grad_norm)}"


def frame(tensor: Any, root: Any, uses: int, notes: bool) -> dict:
    """Title and lines of the frame that processes ``tensor``."""
    root_name = root.name or "L"
    label = root_name if tensor is root else name(tensor)
    step = step_of(tensor)
    where = f"step t={step}" if step is not None else (tensor.scope or "")
    title = f"{where}: {label}" if where else label
    lines = [_what(tensor, root is tensor, root_name, label, uses)]
    lines.append("arriving: " + arriving(tensor, root_name, label))
    said = _in_the_notes(tensor, root_name) if notes else None
    if said:
        lines.append("in the notes: " + said)
    lines += _sends(tensor, root_name, label)
    return {"title": title, "lines": lines}


def _what(tensor: Any, is_root: bool, root_name: str, label: str, uses: int) -> str:
    grad = d(root_name, label)
    if is_root:
        return (
            f"backward starts at {root_name}: {grad} is the gradient given to backward() "
            "(1 for a scalar loss)"
        )
    if tensor.op is None:
        return (
            f"{grad} is complete: all {uses} uses of {label} have sent their terms, and "
            f"their sum is what backward leaves in {label}.grad"
        )
    many = f"all {uses} uses of it have" if uses > 1 else "its one use has"
    return f"{grad} is complete ({many} sent their part); its op {tensor.op} now sends it on"


def _sends(tensor: Any, root: str, label: str) -> list[str]:
    """One line per parent the op sends gradient to: the rule, the norm sent, the sum so far."""
    lines = []
    sent = tensor.edge_grad_norms or ()
    running = tensor.edge_running_norms or ()
    for index, (parent, part, total) in enumerate(zip(tensor.parents, sent, running)):
        if part is None:
            continue
        rule = _rule(tensor, index, root, label)
        lines.append(
            f"sends {rule}: ||sent|| = {norm(part)}; ||{d(root, name(parent))}|| so far = "
            f"{norm(total)}"
        )
    return lines


def _rule(tensor: Any, index: int, root: str, label: str) -> str:
    """The vector-Jacobian product along one edge, in words of the tensors' names."""
    parent = tensor.parents[index]
    target, g = d(root, name(parent)), d(root, label)
    used = _use_of_parameter(tensor)
    if used is not None:
        param, other = used
        if index == 0:
            return f"{target} += {param.name}^T {g}"
        term = step_of(tensor)
        k = f"_{term}" if term is not None else ""
        return (
            f"{d(root, param.name + k)} = {g} {_input(other, 'x', 1)}^T to this step's "
            f"{name(parent)}"
        )
    op, y = tensor.op, label
    others = [name(p) for i, p in enumerate(tensor.parents) if i != index]
    local = {
        "add": g,
        "sub": g if index == 0 else f"-{g}",
        "mul": f"{others[0]} * {g}" if others else g,
        "tanh": f"(1 - ({y})^2) * {g}",
        "sigmoid": f"{y} (1 - {y}) * {g}",
        "relu": f"[{name(parent)} > 0] * {g}",
        "exp": f"{y} * {g}",
        "log": f"{g} / {name(parent)}",
        "neg": f"-{g}",
        "transpose": f"({g})^T",
        "sum": f"{g} copied to every entry",
        "pow": f"p {name(parent)}^(p-1) * {g}",
    }.get(op)
    if op == "matmul":
        local = f"{g} {others[0]}^T" if index == 0 else f"{others[0]}^T {g}"
    if local is None:
        local = f"{op}'s vector-Jacobian product of {g}"
    return f"{target} += {local}"


def _in_the_notes(tensor: Any, root: str) -> str | None:
    """The frame in the notes' words, for the notes' RNN (None for other nodes)."""
    if tensor.op == "transpose" and tensor.parents and tensor.parents[0].op is None:
        param, k = tensor.parents[0].name, step_of(tensor)
        if param and k is not None:
            return (
                f"{param}'s use at step t={k} hands its term {d(root, f'{param}_{k}')} to the sum "
                f"{d(root, param)} = sum_k {d(root, f'{param}_k')} (the running sum below)"
            )
    match = NOTES_NAME.match(tensor.name or "")
    if match is None:
        return None
    kind, k = match.group(1), int(match.group(2))
    before = f"h_{k - 1}"
    f_h = f"diag(f_h'(a_{k}))"
    if kind == "L":
        return f"L = sum_t L_t, so {d(root, f'L_{k}')} = 1; it sends {d(root, f'yhat_{k}')} on"
    if kind in ("yhat", "z"):
        return (
            f"{d(root, f'yhat_{k}')} comes from L_{k} alone: U and b_y get this step's terms "
            f"without BPTT, and {d(root, f'h_{k}')} gets U^T {d(root, f'z_{k}')}"
        )
    if kind == "h":
        return (
            f"{d(root, f'h_{k}')} is complete: U^T {d(root, f'z_{k}')} from this step's output, "
            f"plus W^T diag(f_h'(a_{k + 1})) {d(root, f'h_{k + 1}')} when a step t={k + 1} "
            f"follows. Next it walks back one step: {d(root, before)} += W^T {f_h} "
            f"{d(root, f'h_{k}')}"
        )
    return (
        f"{d(root, f'a_{k}')} = {f_h} {d(root, f'h_{k}')}; through a_{k} = V x_{k} + "
        f"W {before} + b_h the next frames give W its term {d(root, f'W_{k}')} = "
        f"{d(root, f'a_{k}')} {before}^T, V its term {d(root, f'V_{k}')} = "
        f"{d(root, f'a_{k}')} x_{k}^T, b_h its term, and {d(root, before)} += "
        f"W^T {d(root, f'a_{k}')}"
    )


def parameter_terms(param: Any, done: list, root: str) -> dict:
    """The running sum ``dL/dP = term + term + ...``: one term per use of ``param``, in time
    order, each with the frame it arrives in, its norm and the norm of the sum right after."""
    terms = []
    for tensor in done:
        sent = tensor.edge_grad_norms or ()
        running = tensor.edge_running_norms or ()
        for parent, part, total in zip(tensor.parents, sent, running):
            if parent is param and part is not None:
                k = step_of(tensor)
                terms.append({
                    "step": k,
                    "frame": tensor.backward_step,
                    "norm": norm(part),
                    "sum": norm(total),
                })
    terms.sort(key=lambda t: (t["step"] is None, t["step"] or 0, t["frame"]))
    called = param.name or "p"
    for index, term in enumerate(terms, start=1):  # d.../dW_k in a step, else by use
        k = term["step"]
        term["label"] = d(root, f"{called}_{k}") if k is not None else f"use {index}"
    return {
        "name": param.name or "parameter",
        "grad": d(root, param.name or "p"),
        "frame": param.backward_step,
        "total": norm(param.grad_norm),
        "terms": terms,
    }
