"""Checkpointed segments in the drawing: what backward recomputes and what it keeps.

``mg.checkpoint`` records one node (op ``checkpoint``) per segment; each of its outputs is a view
of that node (op ``checkpoint output``). The drawing shows each segment as a dashed box marked
"recomputed in backward" (its inner graph is not stored) and draws each output straight out of
it; the tensors a segment reads (the state it starts from: ``h_0``, ``h_k``) get a thick outline,
"stored": with the parameters, they are all that stays alive between forward and backward.
"""

from __future__ import annotations

from .graph import OP, PARAM, ViewGraph

CHECKPOINT_OP = "checkpoint"  # the op name mg.checkpoint records
OUTPUT_OP = "checkpoint output"  # how mg.checkpoint hands out each output: a view of the node
RECOMPUTED = "recomputed in backward"
STORED = "stored for backward"


def fold_unpacking(view: ViewGraph) -> None:
    """Draw each named output of a checkpoint with an edge straight from its segment, without
    the op that hands it out (an unnamed output keeps it: that op shows the result)."""
    dropped = {id(n): n for n in view.nodes
               if n.kind == OP and n.tensor.op == OUTPUT_OP and not n.shows_result}
    if not dropped:
        return
    source = {id(e.head): e.tail for e in view.edges if id(e.head) in dropped}
    for edge in view.edges:
        if id(edge.tail) in dropped:
            edge.tail = source[id(edge.tail)]
    view.edges = [e for e in view.edges if id(e.head) not in dropped]
    view.nodes = [n for n in view.nodes if id(n) not in dropped]


def mark(view: ViewGraph) -> None:
    """Label the segments and the stored states, and say what they mean in the title."""
    segments = [n for n in view.nodes if n.kind == OP and n.tensor.op == CHECKPOINT_OP]
    if not segments:
        return
    stored = {id(p) for n in segments for p in n.tensor.parents}
    for node in segments:
        node.title = "segment" if node.cluster is not None else "checkpoint"
        node.lines = [RECOMPUTED]
        if node.cluster is not None:
            node.cluster.recomputed = True
            node.cluster.lines = [*node.cluster.lines, RECOMPUTED]
    for node in view.nodes:
        if node.kind != PARAM and node.kind != OP and id(node.tensor) in stored:
            node.stored = True
            node.lines = [*node.lines, STORED]
    view.title.append(
        "dashed boxes: checkpointed segments, their graphs not stored but recomputed in backward; "
        "thick outline: the states stored between forward and backward (with the parameters)"
    )
