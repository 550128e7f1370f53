"""Gradients of gradients: backward(create_graph=True), mg.grad, mg.hvp, mg.hessian.

The same VJPs as the first-order ``backward()``, run on Tensors: the gradient ``g`` is a Tensor,
and each saved array that is a parent's or the node's own ``.data`` is given as that Tensor, so
every product, sum and reshape inside the VJP is a minigrad op (numpy's functions dispatch to them,
see ``minigrad.dispatch``) and the gradient has a graph of its own. Saved values that are not
the data of a tensor of the graph stay constants: masks (relu's ``x > 0``, clip's inside, max's
winners) and ``sign(x)`` are exactly right as constants, since their own derivatives are 0.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .graph import check_saved_unchanged, topological_order, unbroadcast
from .modes import PER_THREAD, check_finite, no_grad
from .ops import NOTHING, lift
from .shape_ops import concat
from .tensor import Tensor


def _saved_as_tensors(node: Tensor) -> dict[str, Any]:
    """The node's saved values, with its own and its parents' arrays replaced by the Tensors."""
    # x and x.detach() share one array: where two tensors do, the constant one (no grad) wins,
    # so that a detached operand stays constant in the gradient's graph too
    tensors = sorted((node, *node.parents), key=lambda t: not t.requires_grad)
    graph_arrays = {id(t.data): t for t in tensors}
    return {key: graph_arrays.get(id(value), value) if isinstance(value, np.ndarray) else value
            for key, value in node.saved.items()}


def _propagate(roots: Sequence[Tensor], seeds: Sequence[Tensor],
               wanted: set[Tensor] | None) -> dict[Tensor, Tensor]:
    """The chain rule on Tensors: each node's complete gradient, for the ``wanted`` nodes (leaves
    and tensors that retain their grad when None)."""
    from .autograd import RELEASED_HELP

    nodes = {node for root in roots for node in topological_order(root, requires_grad_only=True)}
    grads: dict[Tensor, Tensor] = {}
    for root, seed in zip(roots, seeds):
        grads[root] = grads[root] + seed if root in grads else seed
    found: dict[Tensor, Tensor] = {}
    anomaly, last_change = PER_THREAD.modes.anomaly, Tensor.last_change
    for node in sorted(nodes, key=lambda n: n._seq, reverse=True):
        g = grads.pop(node, None)
        if g is None:
            continue
        for hook in node._hooks or ():
            replaced = hook(g)
            g = g if replaced is None else lift(replaced, g)
        if node in (wanted or ()) or (wanted is None and (node.is_leaf or node._retains_grad)):
            found[node] = g
        if node.vjp is None:
            if node.op is not None:
                raise RuntimeError(f"backward: reached '{node.op}' node: " + RELEASED_HELP)
            continue
        if node._seq < last_change:  # something changed in place after this node was made
            check_saved_unchanged(node)
        for parent, g_parent in zip(node.parents, node.vjp(g, **_saved_as_tensors(node))):
            if g_parent is None or not parent.requires_grad:
                continue
            g_parent = lift(g_parent, g)
            if g_parent.shape != parent.shape:
                g_parent = unbroadcast(g_parent, parent.shape)
            if anomaly:
                check_finite(g_parent.data, node, "gradient it sends back")
            grads[parent] = grads[parent] + g_parent if parent in grads else g_parent
    return found


def backward_create_graph(root: Tensor, grad: Any, record: bool = False) -> None:
    """``root.backward(grad, create_graph=True)``: every leaf's ``.grad`` becomes a Tensor with a
    graph (added to what it held); the graph behind ``root`` is kept, as the gradients use it."""
    if record:
        raise ValueError("backward: record=True stores norms for drawing the first-order pass; "
                         "call it without create_graph=True")
    for node, g in _propagate([root], [_seed(root, grad)], None).items():
        node.grad = g if node.grad is None else node.grad + g


def _seed(root: Tensor, grad: Any) -> Tensor:
    """dL/droot as a Tensor: 1 for a scalar, or the given gradient (a Tensor keeps its graph)."""
    from .autograd import _initial_grad

    if isinstance(grad, Tensor):
        if grad.shape != root.shape:
            raise ValueError(f"backward: grad has shape {grad.shape} but the tensor has shape "
                             f"{root.shape}")
        return grad
    return Tensor(_initial_grad(root, grad))


def _as_list(x: Any) -> tuple[list, bool]:
    return (list(x), False) if isinstance(x, (list, tuple)) else ([x], True)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> Any:
    """d(sum of outputs . grad_outputs)/d input for each input, as Tensors; ``.grad`` untouched.

    ``torch.autograd.grad``'s semantics: ``grad_outputs`` defaults to 1 for scalar outputs;
    ``create_graph=True`` gives gradients with a graph, to differentiate again; the graph is
    released afterwards unless ``retain_graph`` (default: ``create_graph``). An input the outputs
    do not depend on is an error, or None with ``allow_unused=True``. Returns a tuple when
    ``inputs`` is a list or tuple: ``(dx,) = mg.grad(y, [x])``.
    """
    outs, _ = _as_list(outputs)
    xs, single = _as_list(inputs)
    seeds_given, _ = _as_list(grad_outputs) if grad_outputs is not None else ([None] * len(outs),
                                                                              False)
    if len(seeds_given) != len(outs):
        raise ValueError(f"grad: {len(outs)} outputs but {len(seeds_given)} grad_outputs")
    for out in outs:
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError("grad: an output does not require grad: nothing it was computed "
                               "from has requires_grad=True")
    from .autograd import RELEASED_HELP

    if any(out.released for out in outs):
        raise RuntimeError("grad: " + RELEASED_HELP)
    seeds = [_seed(out, s) for out, s in zip(outs, seeds_given)]
    with contextlib.nullcontext() if create_graph else no_grad():
        found = _propagate(outs, seeds, set(xs))
    if not (create_graph if retain_graph is None else retain_graph):
        for out in outs:
            for node in topological_order(out, requires_grad_only=True):
                node.parents, node.vjp, node.saved = (), None, NOTHING
                if not node._seq & 1023:  # the GraphPause holders (see graph.py)
                    node._pause = None
    result = []
    for i, x in enumerate(xs):
        if x not in found and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
        result.append(found.get(x))
    return result[0] if single else tuple(result)


def _leaves(inputs: Any) -> tuple[list[Tensor], bool]:
    xs, single = _as_list(inputs)
    return [Tensor(np.array(lift(x).data, dtype=np.float64), requires_grad=True)
            for x in xs], single


def hvp(f: Callable[..., Tensor], inputs: Any, v: Any) -> tuple[Tensor, Any]:
    """(f(inputs), H v): the Hessian of the scalar ``f`` times ``v``, by double backward.

    ``H v = d/dx (grad f(x) . v)``: one backward with create_graph, one more through it; no
    Hessian is formed. Inputs and ``v`` are one Tensor each or matching tuples (float64 copies).
    ``mg.hvp(lambda x: (x ** 3).sum(), mg.tensor([1.0, 2.0]), mg.tensor([1.0, 0.0]))[1]`` is
    ``[6., 0.]``.
    """
    xs, single = _leaves(inputs)
    vs, _ = _as_list(v)
    if len(vs) != len(xs) or any(lift(a).shape != x.shape for a, x in zip(vs, xs)):
        raise ValueError(f"hvp: v must match the inputs' shapes {[x.shape for x in xs]}")
    value = f(*xs)
    if value.size != 1:
        raise ValueError(f"hvp: f must return a scalar, got shape {value.shape}")
    gs = grad(value, xs, create_graph=True, allow_unused=True)
    dot = sum(((g * lift(a).data).sum() for g, a in zip(gs, vs) if g is not None),
              start=Tensor(0.0))
    hv = grad(dot, xs, allow_unused=True) if dot.requires_grad else [None] * len(xs)
    hv = [Tensor(np.zeros(x.shape)) if h is None else h for h, x in zip(hv, xs)]
    return value.detach(), (hv[0] if single else tuple(hv))


def hessian(f: Callable[[Tensor], Tensor], x: Any) -> np.ndarray:
    """The full Hessian of the scalar ``f`` at ``x``, shape ``x.shape + x.shape``: one
    Hessian-vector product per entry of x, so for small teaching examples."""
    (xt,), _ = _leaves([x])
    value = f(xt)
    if value.size != 1:
        raise ValueError(f"hessian: f must return a scalar, got shape {value.shape}")
    g = grad(value, xt, create_graph=True)
    rows = np.zeros((xt.size, xt.size))
    for i in range(xt.size):
        seed = np.zeros(xt.size)
        seed[i] = 1
        if g.requires_grad:
            h = grad(g, xt, grad_outputs=seed.reshape(xt.shape), retain_graph=True,
                     allow_unused=True)
            rows[i] = 0 if h is None else h.data.ravel()
    return rows.reshape(xt.shape + xt.shape)


def gradgradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any], grad_outputs: Any = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Second derivatives against central differences of the first: ``gradcheck`` of the map
    (inputs, v) -> d(fn(inputs) . v)/d inputs, the gradients made with create_graph=True.

    ``v`` (``grad_outputs``, random when None) is checked as an input too, as in PyTorch. Returns
    True, or raises GradcheckError naming the worst entry.
    """
    from .checks import gradcheck

    if grad_outputs is None:
        shape = fn(*(Tensor(np.array(lift(x).data, dtype=np.float64)) for x in inputs)).shape
        grad_outputs = np.random.default_rng(seed).normal(size=shape)
    wrt = [j for j, x in enumerate(inputs) if getattr(x, "requires_grad", False)]

    def first_derivatives(*args: Tensor) -> Tensor:
        xs, v = args[:-1], args[-1]
        gs = grad(fn(*xs), [xs[j] for j in wrt], grad_outputs=v, create_graph=True,
                  allow_unused=True)
        return concat([(Tensor(np.zeros(xs[j].size)) if g is None else g.reshape(-1))
                          for j, g in zip(wrt, gs)], axis=0)

    v = Tensor(np.asarray(lift(grad_outputs).data, dtype=np.float64), requires_grad=True)
    return gradcheck(first_derivatives, [*inputs, v], eps=eps, atol=atol, rtol=rtol)
