"""einsum: one primitive for matmul, trace, outer, batched and many other products.

``out = einsum("ij,jk->ik", A, B)`` sums the product of the operands over every letter missing
from the output. Its VJP is an einsum too: the gradient of operand k is the einsum that puts
``g`` where the output was and asks for operand k's letters, with the other operands unchanged.

    matmul   "ij,jk->ik"    dA = einsum("ik,jk->ij", g, B) = g B^T
                            dB = einsum("ik,ij->jk", g, A) = A^T g
    batched  "bij,bjk->bik" the same, letter b carried along
    outer    "i,j->ij"      da = einsum("ij,j->i", g, b) = g b,  db = einsum("ij,i->j", g, a)
    trace    "ii->"         dA = g on the diagonal, 0 elsewhere (dA = g I)
    sum      "ij->"         dA = g copied to every entry

Two wrinkles the last two show: a letter that only operand k has (summed inside it alone) gets
``g`` copied along it (an einsum with a vector of ones), and a letter repeated in operand k
(a diagonal) gets the gradient written on that diagonal.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from .ops import lift, record_op
from .shape_ops import scatter
from .tensor import Tensor


def _explicit(spec: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The operands' letters and the output's, with "..." spelled out in unused letters and the
    implicit output (letters used once, sorted, as numpy) made explicit."""
    spec = spec.replace(" ", "")
    inputs, _, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"{spec!r} names {len(terms)} operands, got {len(shapes)}")
    if "->" not in spec:
        once = sorted(c for c in set(inputs) if c.isalpha() and inputs.count(c) == 1)
        output = ("..." if "..." in inputs else "") + "".join(once)
    if "..." in spec:
        free = [c for c in string.ascii_letters if c not in spec]
        spans = [len(shape) - len(t) + 3 for t, shape in zip(terms, shapes) if "..." in t]
        batch = "".join(free[: max(spans, default=0)])
        terms = [t.replace("...", batch[len(batch) - len(shape) + len(t) - 3:])
                 for t, shape in zip(terms, shapes)]
        output = output.replace("...", batch)
    return terms, output


def einsum(spec: str, *operands: Any) -> Tensor:
    """out = numpy's einsum of the operands;  dL/d(operand k) = the einsum of g with the other
    operands, into operand k's letters (see the module's table: matmul, trace, outer, batched).
    ``mg.einsum("ij,jk->ik", A, B)`` is ``A @ B``; ``mg.einsum("ii->", mg.eye(3))`` is ``3.0``;
    ``mg.einsum("i,j->ij", mg.ones(2), mg.arange(2.0))`` is ``[[0., 1.], [0., 1.]]``.
    """
    if not operands:
        raise ValueError(f"einsum: {spec!r} needs at least one operand")
    first = next((t for t in operands if isinstance(t, Tensor)), None)
    tensors = tuple(lift(t, first) for t in operands)
    shapes = [t.shape for t in tensors]
    try:
        terms, output = _explicit(spec, shapes)
        out = np.einsum(",".join(terms) + "->" + output, *(t.data for t in tensors))
    except ValueError as err:
        raise ValueError(f"einsum: {err} (spec {spec!r}, shapes {shapes})") from None
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        for letter, n in zip(term, shape):
            sizes[letter] = n if sizes.get(letter, 1) == 1 else sizes[letter]  # broadcasting
    # NOTE: each operand saved under its own name, so backward's in-place check can see it.
    arrays = {f"operand{k}": t.data for k, t in enumerate(tensors)}
    saved = {"terms": terms, "output": output, "sizes": sizes,
             "needs": [t.requires_grad for t in tensors], **arrays}
    return record_op("einsum", out, tensors, einsum_vjp, saved)


def einsum_vjp(g: np.ndarray, terms: list[str], output: str, sizes: dict[str, int],
               needs: list[bool], **arrays: np.ndarray) -> tuple:
    operands = list(arrays.values())
    grads = []
    for k, term in enumerate(terms):
        if not needs[k]:
            grads.append(None)
            continue
        given = [(output, g)] + [(t, a) for j, (t, a) in enumerate(zip(terms, operands)) if j != k]
        letters = "".join(dict.fromkeys(term))  # each letter once, in order
        # a letter no other term has at its full size: g is copied along it (ones vector)
        reached = {c for t, a in given for c, n in zip(t, a.shape) if n == sizes[c]}
        given += [(c, np.ones(sizes[c], dtype=g.dtype)) for c in letters if c not in reached]
        grad = np.einsum(",".join(t for t, _ in given) + "->" + letters, *(a for _, a in given))
        if letters != term:  # a repeated letter: write grad on that diagonal, zeros elsewhere
            grid = np.indices([sizes[c] for c in letters], sparse=True)
            diagonal = tuple(grid[letters.index(c)] for c in term)
            grad = scatter(grad, diagonal, tuple(sizes[c] for c in term), g.dtype, False)
        grads.append(grad)  # with broadcast sizes: the engine sums them back to the operand's
    return tuple(grads)
