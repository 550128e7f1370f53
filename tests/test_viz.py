"""viz without rendering: the view graph, the DOT text, the outline and the errors raised
before any ``dot`` runs. Rendering (SVG) is tested in test_viz_render.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

import minigrad as mg
import viz
from models import RNN
from viz import style

PARAMS = ("V", "W", "U", "b_h", "b_y")


def rnn_graph(
    T: int, *, last_only: bool = False, w_scale: float = 1.0, record: bool = True, seed: int = 0
):
    """An unrolled tanh RNN and its squared-error loss (L, or L_T alone), after backward."""
    rng = np.random.default_rng(seed)
    rnn = RNN(2, 3, 2, f_h="tanh", seed=seed)
    rnn.W.data *= w_scale  # plain numpy: the graph is built afterwards
    xs, targets = rng.normal(size=(T, 1, 2)), rng.normal(size=(T, 1, 2))
    ys, hs = rnn(xs)
    loss = rnn.loss(ys, targets, "squared_error", t=T if last_only else None)
    if record:
        loss.backward(retain_graph=True, record=True)
    return rnn, loss, hs


def nodes_of(drawing, kind=None, title=None):
    return [
        n
        for n in drawing.view_graph.nodes
        if (kind is None or n.kind == kind) and (title is None or n.title == title)
    ]


def out_edges(drawing, node):
    return [e for e in drawing.view_graph.edges if e.tail is node]


def test_view_has_one_cluster_per_step_and_each_parameter_once():
    rnn, loss, _ = rnn_graph(4)
    drawing = viz.draw(loss, shared="once")
    labels = [c.label for c in drawing.view_graph.clusters]
    assert labels == ["t=1", "t=2", "t=3", "t=4"]
    for name in PARAMS:
        (node,) = nodes_of(drawing, title=name)
        assert node.kind == "param"
    (w,) = nodes_of(drawing, title="W")
    heads = out_edges(drawing, w)
    assert len(heads) == 4 and {e.head.cluster.label for e in heads} == {"t=1", "t=2", "t=3", "t=4"}


def test_per_step_copies_carry_that_steps_term():
    rnn, loss, _ = rnn_graph(4)
    drawing = viz.draw(loss, shared="per_step", grads=True)
    copies = nodes_of(drawing, kind="copy", title="W")
    assert sorted(c.cluster.label for c in copies) == ["t=1", "t=2", "t=3", "t=4"]
    (legend,) = nodes_of(drawing, kind="param", title="W")
    assert legend.cluster.legend and not out_edges(drawing, legend)
    assert any("||dL/dW||" in line or "||grad||" in line for line in legend.lines)
    # the gradient W's use at step k received: what its transpose sent back to W
    sent = {
        int(t.scope[2:]): t.edge_grad_norms[0]
        for t in mg.topological_order(loss)
        if t.op == "transpose" and t.parents[0] is rnn.W
    }
    for copy in copies:
        assert copy.term == pytest.approx(sent[copy.cluster.step])
        assert f"||dL/dW_{copy.cluster.step}||" in copy.lines[-1]


def test_auto_draws_the_small_demo_once_and_long_sequences_per_step():
    assert viz.draw(rnn_graph(4)[1], granularity="op").view_graph.shared == "once"
    assert viz.draw(rnn_graph(50)[1], granularity="op").view_graph.shared == "per_step"
    assert viz.draw(rnn_graph(4)[1]).view_graph.shared == "sum"  # the formula view


def test_dot_is_byte_identical_across_runs_and_graphs():
    first = viz.draw(rnn_graph(5)[1], grads=True, values=True).source
    again = viz.draw(rnn_graph(5)[1], grads=True, values=True).source  # other objects, same graph
    assert first == again
    rnn, loss, _ = rnn_graph(5)
    assert (
        viz.draw(loss, highlight=rnn.W, fold=1).source
        == viz.draw(loss, highlight=rnn.W, fold=1).source
    )


def test_ids_are_stable_and_never_contain_a_colon():
    drawing = viz.draw(rnn_graph(3)[1])
    ids = [n.id for n in drawing.view_graph.nodes]
    assert ids == [f"n{i}" for i in range(len(ids))]


def test_user_strings_are_escaped_in_labels_and_tooltips():
    name = 'a<b>&"c": d\ne\\'
    with mg.scope('s<1>&"x":y'):
        x = mg.Tensor([1.0, 2.0], requires_grad=True, name=name)
        y = (x * 2.0).sum()
    y.name = "<y>"
    source = viz.draw(y, values=True).source
    assert "a&lt;b&gt;&amp;&quot;c&quot;: d<BR/>e\\" in source
    assert "s&lt;1&gt;&amp;&quot;x&quot;:y" in source
    assert "<B>&lt;y&gt;</B>" in source and "<B><y>" not in source
    assert 'tooltip="<y>: op sum' in source  # a quoted string, not HTML: dot escapes it for SVG
    assert "n0:" not in source and '"n0' not in source


def test_max_nodes_refuses_a_big_graph_quickly_and_names_the_fix():
    _, loss, _ = rnn_graph(300, record=False)
    start = time.perf_counter()
    with pytest.raises(viz.GraphTooLargeError) as info:
        viz.draw(loss)
    assert time.perf_counter() - start < 0.5
    message = str(info.value)
    assert "max_nodes=2000" in message and "fold" in message and "300 time steps" in message
    assert any(ch.isdigit() for ch in message.split("has ")[1][:6])


def test_fold_keeps_first_and_last_steps_and_boxes_the_middle():
    _, loss, _ = rnn_graph(12)
    drawing = viz.draw(loss, fold=2, grads=True)
    assert [c.label for c in drawing.view_graph.clusters if c.step] == [
        "t=1",
        "t=2",
        "t=11",
        "t=12",
    ]
    (box,) = nodes_of(drawing, kind="fold")
    assert box.title == "t=3 \u2026 10 (\u00d7 8)"
    assert box.lines and box.lines[0].startswith("||dL/dh_t|| ")
    edges = drawing.view_graph.edges
    assert "h_2" in {e.tail.title for e in edges if e.head is box}
    into = {
        (e.head.title, e.head.cluster.label if e.head.cluster else "")
        for e in edges
        if e.tail is box
    }
    assert ("W h_10", "t=11") in into  # h_10 -> step 11, now from the box
    assert ("L", "") in into  # the sum of the step losses


def test_fold_zero_draws_one_step_with_a_loop():
    _, loss, _ = rnn_graph(6)
    drawing = viz.draw(loss, fold=0)
    steps = [c for c in drawing.view_graph.clusters if c.step]
    assert len(steps) == 1 and steps[0].label.startswith("t=1 \u2026 6")
    (loop,) = [e for e in drawing.view_graph.edges if e.style == "loop"]
    assert loop.tail.title == "h_6" and loop.head.title == "W h_5" and loop.label == "\u00d7 6"


def test_fold_lets_a_thousand_steps_through_max_nodes():
    _, loss, _ = rnn_graph(1000, record=False)
    assert len(viz.draw(loss, fold=2).view_graph.nodes) < 400


def test_highlight_bolds_exactly_the_paths_back_to_w():
    rnn, loss, _ = rnn_graph(3)
    drawing = viz.draw(loss, highlight=rnn.W)
    reach = set()
    for t in mg.topological_order(loss):
        if t is rnn.W or any(id(p) in reach for p in t.parents):
            reach.add(id(t))
    for edge in drawing.view_graph.edges:
        on_path = id(edge.tail.tensor) in reach and id(edge.head.tensor) in reach
        assert edge.emphasis == ("bold" if on_path else "faded")
    assert nodes_of(drawing, title="W")[0].emphasis == "bold"
    assert nodes_of(drawing, title="U")[0].emphasis == "faded"
    assert nodes_of(drawing, title="L")[0].emphasis == "bold"
    assert viz.draw(loss, highlight="W").source == drawing.source
    with pytest.raises(ValueError, match="no tensor of that name"):
        viz.draw(loss, highlight="Q")


def test_detached_state_shows_a_cut_mark_naming_its_source():
    rnn, _, hs = rnn_graph(3, record=False)
    h = hs[-1].detach()
    ys, _ = rnn(np.ones((2, 1, 2)), h0=h)
    loss = rnn.loss(ys, np.zeros((2, 1, 2)))
    drawing = viz.draw(loss)
    (cut,) = nodes_of(drawing, kind="cut")
    assert cut.lines == ["cut from h_3 (1, 3) scope t=3"]
    (edge,) = out_edges(drawing, cut)
    assert edge.style == "cut" and edge.head.tensor is h
    assert "arrowhead=tee" in drawing.source and "style=dashed" in drawing.source
    del hs
    import gc

    gc.collect()
    (cut,) = nodes_of(viz.draw(loss), kind="cut")
    assert cut.lines == ["cut from h_3 (no longer alive)"]


def test_a_released_graph_raises_naming_retain_graph():
    _, loss, _ = rnn_graph(2, record=False)
    loss.backward()
    with pytest.raises(viz.GraphReleasedError, match=r"retain_graph=True"):
        viz.draw(loss)
    assert issubclass(viz.GraphReleasedError, RuntimeError)


def test_grads_without_recorded_norms_says_how_to_record():
    _, loss, _ = rnn_graph(2, record=False)
    drawing = viz.draw(loss, grads=True)
    title = " ".join(drawing.view_graph.title)
    assert "no gradients recorded" in title
    assert "loss.backward(retain_graph=True, record=True)" in title
    loss.backward(retain_graph=True)  # gradients, but no recorded norms
    assert "no gradients recorded" in " ".join(viz.draw(loss, grads=True).view_graph.title)


def test_non_finite_gradients_are_drawn_red():
    x = mg.Tensor([0.0, 4.0], requires_grad=True, name="x")
    y = x.sqrt().sum()
    y.backward(retain_graph=True, record=True)
    source = viz.draw(y, grads=True).source
    assert f'color="{style.BAD_COLOR}"' in source


def test_edge_colours_follow_the_fixed_log_scale():
    assert style.edge_style(1e-9)[0] == style.EDGE_SCALE[0]
    assert style.edge_style(3e-4)[0] == style.EDGE_SCALE[2]
    assert style.edge_style(5e5)[0] == style.EDGE_SCALE[-1]
    assert style.edge_style(float("nan"))[0] == style.BAD_COLOR
    assert style.edge_style(0.0)[2] == "dotted"
    assert style.edge_style(1e-3)[1] < style.edge_style(1e1)[1]


def test_unnamed_results_are_drawn_in_their_op_and_constants_in_the_op_using_them():
    rnn, loss, _ = rnn_graph(2)
    drawing = viz.draw(loss, grads=True, granularity="op")
    nodes = drawing.view_graph.nodes
    boxes = [n for n in nodes if n.kind == "data"]
    assert all(n.tensor.name for n in boxes)  # the root L is named too
    assert {"a_1", "h_1", "yhat_1", "L_1", "a_2", "h_2", "L"} <= {n.title for n in boxes}
    for box in boxes:
        (edge,) = [e for e in drawing.view_graph.edges if e.head is box]
        assert edge.tail.kind == "op" and edge.tail.tensor is box.tensor
    merged = [n for n in nodes if n.kind == "op" and n.shows_result]
    assert merged and all(not n.tensor.name for n in merged)
    assert all(n.lines[-1].startswith(("||grad|| ", "grad [")) for n in merged)
    leaves = [n for n in nodes if n.kind == "input"]  # named inputs x_t, targets y_t: data
    assert [n.title for n in leaves] == ["h_0", "x_1", "x_2", "y_1", "y_2"]
    assert not [n for n in nodes if n.title == "transpose"]  # W.T drawn inside its product
    (w_h,) = [n for n in nodes if n.kind == "op" and n.tensor.name == "W h_0"]
    assert w_h.lines == ["right: W.T"] and w_h.transposed == {1: rnn.W}
    x = mg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    (times_two,) = [n for n in viz.draw((x * 2.0).sum()).view_graph.nodes if n.title == "mul"]
    assert times_two.lines[0] == "right: 2"
    c = mg.Tensor(np.ones((2, 2)), requires_grad=True, name="C")
    titles = [n.title for n in viz.draw((x @ c.T).sum()).view_graph.nodes]
    assert titles[:4] == ["x", "C", "matmul", "sum"]  # any graph: C.T is no node of its own
    outline = viz.text(loss, granularity="op")
    assert "matmul(n" in outline and "sub(n" in outline


def test_layout_puts_the_steps_side_by_side_in_time_order():
    rnn, loss, _ = rnn_graph(4)
    view = viz.draw(loss, granularity="op").view_graph
    assert [n.title for n in view.step_anchors] == ["h_1", "h_2", "h_3", "h_4"]
    assert [n.title for n in view.step_tails] == ["L_1", "L_2", "L_3", "L_4"]
    assert sorted(n.title for n in view.shared_params) == sorted(PARAMS)
    assert [n.title for n in view.loss_row] == ["add", "add", "add", "L"]
    backward = [e for e in view.edges if e.backward]
    assert [(e.tail.title, e.head.cluster.step) for e in backward] == [
        ("h_1", 2),
        ("h_2", 3),
        ("h_3", 4),
    ]
    source = viz.draw(loss, granularity="op").source
    for edge in backward:  # written head to tail, the arrow reversed: it still points at head
        assert f"\t{edge.head.id} -> {edge.tail.id} [dir=back" in source
    assert "rankdir=TB" in source and "newrank=true" in source
    assert "rankdir=LR" in viz.draw(loss, rankdir="LR").source
    x = mg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    assert "rankdir=LR" in viz.draw((x * 2.0).sum()).source  # no time steps


def test_layout_puts_the_box_of_folded_steps_in_their_place():
    _, loss, _ = rnn_graph(12)
    view = viz.draw(loss, fold=2).view_graph
    (box,) = nodes_of(viz.draw(loss, fold=2), kind="fold")
    titles = [n.title for n in view.step_anchors]
    assert titles == ["h_1", "h_2", box.title, "h_11", "h_12"]
    assert view.step_tails[2].kind == "fold"
    rolled = viz.draw(loss, fold=0).view_graph
    (loop,) = [e for e in rolled.edges if e.style == "loop"]
    assert loop.backward and not rolled.step_anchors  # one step: nothing to line up


def test_text_outline_lists_steps_and_nodes_on_one_line_each():
    rnn, loss, _ = rnn_graph(2)
    rnn.W.name = "W\nnew"
    outline = viz.text(loss, grads=True, highlight=rnn.W)
    lines = outline.splitlines()
    assert "t=1  ||dL/dh_1|| = " in outline and "t=2" in outline
    assert any(line.startswith("*") and "[param] W\\nnew" in line for line in lines)
    assert any("W h_1" in line for line in lines) and "<BR/>" not in outline


def test_bad_options_are_refused():
    _, loss, _ = rnn_graph(2)
    for options in ({"shared": "twice"}, {"fold": -1}, {"max_nodes": 0}, {"rankdir": "XY"},
                    {"granularity": "atoms"}):
        with pytest.raises(ValueError):
            viz.draw(loss, **options)
    with pytest.raises(TypeError):
        viz.draw(np.ones(3))
