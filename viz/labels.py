"""The words of a drawing: node labels, tooltips, cluster labels and the title.

Plain text only (no markup): ``viz.dot`` escapes it for HTML-like labels, ``viz.text`` prints
it. Run after folding, so only the nodes that are drawn are described.
"""

from __future__ import annotations

import numpy as np

from . import style
from .graph import COPY, CUT, FOLD, OP, PARAM

TOOLTIP_CHARS = 600
SMALL = 4  # a tensor of at most this many entries shows its values (and gradient's) signed
RECORD_HINT = "loss.backward(retain_graph=True, record=True)"


def describe(view, root, *, values: bool | None, highlight, term=None) -> None:
    for node in view.nodes:
        if node.kind == OP:
            _op(node, view, values)
        elif node.kind == COPY:
            _copy(node, view)
        elif node.kind == CUT:
            _cut(node)
        elif node.kind == FOLD:
            node.tooltip = "\n".join([node.title, *node.lines, "(pass fold=None to unfold)"])
        else:
            _data(node, view, values)
    for cluster in view.clusters:
        if cluster.legend:
            cluster.label = "parameters (total gradient)" if view.grads else "parameters"
        elif view.grads and cluster.step is not None and cluster.shade_norm is not None:
            cluster.lines = [f"||dL/dh_{cluster.step}|| = {style.fmt_norm(cluster.shade_norm)}"]
    view.root_title = _name(root)
    view.title = _title(view, highlight, term)


def _name(tensor) -> str:
    if tensor.name:
        return tensor.name
    return tensor.op or "tensor"


def _shape(tensor) -> str:
    text = str(tensor.shape) if tensor.ndim != 1 else f"({tensor.shape[0]},)"
    if tensor.dtype != np.float64:
        text += f" {tensor.dtype}"
    return text


def _grad_line(view, tensor, norm) -> list[str]:
    if not view.grads or not tensor.requires_grad:
        return []
    if norm is None:
        return ["no gradient reached it"]
    return [f"||grad|| {style.fmt_norm(norm)}"]


def _data(node, view, values: bool | None) -> None:
    tensor = node.tensor
    node.title = node.alias or tensor.name or ""
    small = values is not False and tensor.data.size <= SMALL
    node.lines = [_small_values(node.title, tensor.data)] if small else [_shape(tensor)]
    if values and not small:
        node.lines.append(_value_summary(tensor.data))
    norm = node.grad_norm
    if norm is None and tensor.grad is not None and view.grads:
        norm = float(np.linalg.norm(tensor.grad))
    if node in view.summed_params:
        node.lines.append(f"dL/d{node.title} = sum_k dL/d{node.title}_k")
    if node.params_inside:
        node.lines.append("uses " + ", ".join(_name(p) for p in node.params_inside))
    gradient = _small_grad(tensor) if small and view.grads else None
    node.lines += [gradient] if gradient else _grad_line(view, tensor, norm)
    node.tooltip = _tooltip(tensor)


def _signed(values) -> str:
    """Numbers with their signs, two significant digits: ``[0.31, -0.72]``."""
    return "[" + ", ".join(f"{float(v) + 0.0:.2g}" for v in np.ravel(values)) + "]"  # no -0


def _small_values(name: str, data: np.ndarray) -> str:
    """``h_2 = [0.31, -0.72]``, or ``L_2 = 0.531`` for one number."""
    if data.dtype == bool or data.size == 0:
        return f"{name} = {_value_summary(data)}"
    text = f"{data.item():.3g}" if data.ndim == 0 else _signed(data)
    return f"{name} = {text}" if name else "= " + text


def _small_grad(tensor) -> str | None:
    """``grad [1.2, -0.05]``: the recorded gradient, or a leaf's ``.grad``."""
    values = tensor.grad_values
    if values is None and tensor.op is None and tensor.grad is not None:
        values = tensor.grad
    if values is None:
        return None
    return "grad " + (f"{float(values[0]):.3g}" if tensor.data.ndim == 0 else _signed(values))


def _op(node, view, values: bool | None) -> None:
    tensor = node.tensor
    node.title = tensor.op
    count = len(tensor.parents)
    node.lines = [
        _const_line(i, count, c, values, node.transposed) for i, c in sorted(node.consts.items())
    ]
    node.lines += [
        f"{operand(i, count)}: {_name(leaf) if leaf.name else 'leaf'}.T"
        for i, leaf in sorted(node.transposed.items())
        if i not in node.consts
    ]
    if node.shows_result:
        small = values is not False and tensor.data.size <= SMALL
        node.lines.append(_small_values("", tensor.data) if small else "\u2192 " + _shape(tensor))
        if values and not small:
            node.lines.append(_value_summary(tensor.data))
        gradient = _small_grad(tensor) if small and view.grads else None
        node.lines += [gradient] if gradient else _grad_line(view, tensor, node.grad_norm)
        node.tooltip = _tooltip(tensor)
    else:
        node.tooltip = f"op {tensor.op} -> {_shape(tensor)}" + _scope(tensor)
        if view.grads:
            node.tooltip += f"\n||grad of result|| {style.fmt_norm(tensor.grad_norm)}"
    for i, const in sorted(node.consts.items()):
        node.tooltip += f"\n{operand(i, len(tensor.parents))}: constant " + _array(const.data)


def operand(index: int, count: int) -> str:
    """How an op's operand is called in labels: left/right for a binary op, else its number."""
    if count == 2:
        return ("left", "right")[index]
    return f"operand {index + 1}"


def _const_line(index: int, count: int, const, values: bool, transposed: dict) -> str:
    """A constant drawn inside its op: a number by value, an array by shape (and with
    ``values`` its value or min/mean/max)."""
    what = f"{const.data.item():.4g}" if const.data.size == 1 else "constant " + _shape(const)
    if index in transposed:
        what += ".T"
    if values and const.data.size > 1:
        what += " " + _value_summary(const.data)
    return f"{operand(index, count)}: {what}"


def _copy(node, view) -> None:
    tensor = node.tensor
    step = node.cluster.step_of() if node.cluster is not None else None
    node.title = node.alias or tensor.name or "parameter"
    name = tensor.name or "parameter"
    where = f"t={step}" if step is not None else "/".join(node.cluster.path())
    node.lines = [f"copy used at {where}"]
    if view.shared == "sum":
        node.lines = []  # W_2: the name says it all; the tooltip explains
        node.tooltip = (
            f"{node.title}: {name} as used at {where}, a copy with the same values. Its gradient "
            f"dL/d{node.title} is this step's term of dL/d{name} = sum_k dL/d{name}_k"
        )
        return
    if view.grads:
        if node.uses > 1:
            node.lines.append(f"{node.uses} uses here")
        else:
            sub = f"_{step}" if step is not None else "_k"
            node.lines.append(f"||dL/d{node.title}{sub}|| {style.fmt_norm(node.term)}")
    node.grad_norm = node.term
    node.tooltip = (
        f"{node.title} as used at {where}: a copy with the same values, drawn here so the "
        f"picture stays local.\nIts gradient is this step's term of the sum "
        f"dL/d{node.title} = sum over steps; the total is on {node.title} under 'parameters'."
    )
    if node.uses == 1 and node.term is not None:
        node.tooltip += f"\nthis term: {style.fmt_norm(node.term)}"


def _cut(node) -> None:
    tensor = node.tensor
    source = tensor.detached_from
    if source is not None:
        what = _name(source) + " " + _shape(source) + _scope(source).replace("\n", " ")
    elif tensor.name:
        what = f"{tensor.name} (no longer alive)"
    else:
        what = "a tensor that is no longer alive"
    node.title = "\u2702 detach()"
    node.lines = [f"cut from {what}"]
    node.tooltip = (
        f"detach(): cut from {what}. No gradient flows back past this point "
        "(truncated backprop through time stops here)."
    )


def _scope(tensor) -> str:
    return f"\nscope {tensor.scope}" if tensor.scope else ""


def _value_summary(data: np.ndarray) -> str:
    if data.size == 0:
        return "empty"
    if data.dtype == bool:
        return f"{int(data.sum())} of {data.size} true"
    if data.size == 1:
        return f"value {data.item():.4g}"
    if data.size <= 4:
        return np.array2string(data.ravel(), precision=3, separator=", ")
    return f"min {data.min():.3g}  mean {data.mean():.3g}  max {data.max():.3g}"


def _array(data: np.ndarray) -> str:
    return np.array2string(data, precision=4, threshold=12, edgeitems=2, max_line_width=60)


def _tooltip(tensor) -> str:
    kind = f"op {tensor.op}" if tensor.op else ("parameter" if tensor.requires_grad else "leaf")
    lines = [f"{tensor.name or '(unnamed)'}: {kind}, shape {_shape(tensor)}" + _scope(tensor)]
    lines.append("value " + _array(tensor.data))
    if tensor.grad is not None:
        lines.append("grad " + _array(tensor.grad))
    if tensor.grad_norm is not None:
        lines.append(f"||grad|| {style.fmt_norm(tensor.grad_norm)}")
    text = "\n".join(lines)
    return text if len(text) <= TOOLTIP_CHARS else text[: TOOLTIP_CHARS - 1] + "\u2026"


def _title(view, highlight, term) -> list[str]:
    title = [f"computational graph of {view.root_title}"]
    if view.steps:
        title[0] += f", {view.steps} time steps"
    if view.term_title:
        title.insert(0, view.term_title)
    title += _explanations(view)
    if view.grads:
        shading = "; step shading: ||dL/dh_t||" if view.steps else ""
        title.append(
            "edge colour and width: log10 of the gradient norm sent back along the edge "
            f"(scale in the legend){shading}"
        )
    elif view.grads_missing:
        title.append(f"no gradients recorded: call {RECORD_HINT} before drawing with grads=True")
    if view.direction == "backward":
        title.append(
            f"arrows: the way the gradient flows, from {view.root_title} back to the parameters"
            + (", each labelled with the norm it carries" if view.grads else "")
        )
    if term is not None:
        t, k = term
        target = highlight if isinstance(highlight, str) else _name(highlight)
        title.append(
            f"bold: the path of this term, L_{t} -> yhat_{t} -> h_{t} -> ... -> h_{k} -> "
            f"{target}_{k} (step {k}'s use of {target}); everything else faded"
            + ("; the path's edges carry L_" + str(t) + "'s gradient alone" if view.grads else "")
        )
    elif highlight is not None:
        target = highlight if isinstance(highlight, str) else _name(highlight)
        title.append(f"bold: every path from {view.root_title} back to {target}")
    if view.folded:
        title.append(view.folded)
    return title


def _explanations(view) -> list[str]:
    """What the boxes and the parameters' drawing mean, in this view."""
    lines = []
    kinds = {node.kind for node in view.nodes}
    if view.granularity == "formula":
        lines.append(
            "boxes: the notes' terms, one each; the operations between them (a transpose, the "
            "sums of a_t, z_t, L) are drawn inside the term they make"
        )
    elif view.granularity == "gate":
        lines.append("one box per gate and state; each gate lists the parameters it uses")
    if any(node.shows_result or node.consts for node in view.nodes if node.kind == OP):
        lines.append(
            "ovals: operations, with the shape of a result that has no name and the constants "
            "they use (inputs, targets); boxes: named tensors"
        )
    if COPY in kinds and view.shared == "sum":
        lines.append(
            "green: each parameter once, above the steps; dashed: its copy W_k in step k, with an "
            "edge into W carrying ||dL/dW_k||: dL/dW = sum_k dL/dW_k"
        )
    elif COPY in kinds:
        lines.append(
            "dashed green: a parameter's copy in one step, labelled with that step's term "
            "of its gradient; each parameter with its total once under 'parameters'"
        )
    elif PARAM in kinds:
        lines.append(
            "green: parameters, drawn once with an edge into every use "
            "(their gradient is the sum over those edges)"
        )
    return lines
