"""The formula view, the gate view and the readable defaults: DOT and view graph for the fast
checks, real SVG (parsed as XML) for what a reader sees."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_viz import rnn_graph

import minigrad as mg
import viz
from models import GRU, LSTM
from viz import style

SVG = "{http://www.w3.org/2000/svg}"


def step_terms(t: int) -> list[str]:
    """The notes' terms of step t, in plain text."""
    return [f"x_{t}", f"V x_{t}", f"W h_{t - 1}", f"a_{t}", f"h_{t}", f"z_{t}", f"yhat_{t}",
            f"y_{t}", f"L_{t}"]


def svg_of(drawing) -> ET.Element:
    return ET.fromstring(drawing.svg())


def node_texts(svg: ET.Element) -> list[list[str]]:
    """Per drawn node, its lines of text."""
    return [
        [t.text for t in g.iter(SVG + "text")]
        for g in svg.iter(SVG + "g")
        if g.get("class") == "node"
    ]


def test_every_step_is_labelled_with_the_notes_terms_in_the_svg():
    _, loss, _ = rnn_graph(3)
    drawing = viz.draw(loss, grads=True)
    view = drawing.view_graph
    assert view.granularity == "formula" and view.shared == "sum"
    by_step: dict[int, list[str]] = {}
    for node in view.nodes:
        if node.cluster is not None and node.cluster.step and node.kind != "copy":
            by_step.setdefault(node.cluster.step, []).append(node.title)
    for t in (1, 2, 3):
        assert sorted(by_step[t]) == sorted(step_terms(t))  # one node per term, nothing else
    titles = [lines[0] for lines in node_texts(svg_of(drawing))]
    for t in (1, 2, 3):
        for term in step_terms(t):
            assert titles.count(term) == 1, term
    assert "W h_0" in titles and "h_0" in titles and "L" in titles


def test_no_transpose_node_in_the_formula_view_or_any_other_graph():
    _, loss, _ = rnn_graph(3)
    svg = svg_of(viz.draw(loss))
    assert not any("transpose" in (text or "") for lines in node_texts(svg) for text in lines)
    assert "transpose" not in viz.draw(loss, granularity="op").source
    x = mg.Tensor(np.ones((1, 2)), requires_grad=True, name="x")
    M = mg.Tensor(np.ones((3, 2)), requires_grad=True, name="M")
    other = viz.draw((x @ M.T).sum())
    assert other.view_graph.granularity == "op"
    assert [n.title for n in other.view_graph.nodes][:4] == ["x", "M", "matmul", "sum"]
    (matmul,) = [n for n in other.view_graph.nodes if n.title == "matmul"]
    assert "right: M.T" in matmul.lines


def test_inputs_targets_and_the_initial_state_are_data_not_parameters():
    _, loss, _ = rnn_graph(2)
    h0 = mg.Tensor(np.zeros((1, 3)), requires_grad=True, name="h_0")
    rnn, _, _ = rnn_graph(2)
    ys, _ = rnn(np.ones((2, 1, 2)), h0)
    loss = rnn.loss(ys, np.zeros((2, 1, 2)))
    loss.backward(retain_graph=True, record=True)
    view = viz.draw(loss).view_graph
    kinds = {n.title: n.kind for n in view.nodes}
    for name in ("x_1", "x_2", "y_1", "y_2", "h_0"):
        assert kinds[name] == "input", name
    assert {n.title for n in view.nodes if n.kind == "param"} == {"V", "W", "U", "b_h", "b_y"}


def test_each_parameter_is_drawn_once_with_its_copies_summed_into_it():
    rnn, loss, _ = rnn_graph(4)
    view = viz.draw(loss, grads=True).view_graph
    (w,) = [n for n in view.nodes if n.kind == "param" and n.title == "W"]
    assert "dL/dW = sum_k dL/dW_k" in w.lines
    into = [e for e in view.edges if e.head is w]
    assert sorted(e.tail.title for e in into) == ["W_1", "W_2", "W_3", "W_4"]
    sent = {  # what W's use at step k sent back to W: its transpose's edge
        int(t.scope[2:]): t.edge_grad_norms[0]
        for t in mg.topological_order(loss)
        if t.op == "transpose" and t.parents[0] is rnn.W
    }
    for edge in into:
        k = edge.tail.cluster.step
        assert edge.style == "sum" and edge.tail.kind == "copy"
        assert edge.label == f"||dL/dW_{k}|| = {style.fmt_norm(sent[k])}"
        assert [e.head.title for e in view.edges if e.tail is edge.tail and e is not edge] == [
            f"W h_{k - 1}"
        ]
    assert sum(sent.values()) >= np.linalg.norm(rnn.W.grad) - 1e-12  # triangle inequality
    assert sent[1] == 0.0  # h_0 = 0: the k = 1 term vanishes


def test_time_runs_left_to_right_by_default_everywhere():
    _, loss, _ = rnn_graph(3)
    assert "rankdir=TB" in viz.draw(loss).source  # the steps are columns, side by side
    assert "rankdir=TB" in viz.draw(loss, granularity="op").source
    x = mg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    assert "rankdir=LR" in viz.draw((x * 2.0).sum()).source  # no time steps


def test_small_tensors_show_signed_values_and_gradient_bigger_ones_shape_and_norm():
    rnn, loss, hs = rnn_graph(2)
    view = viz.draw(loss, grads=True).view_graph
    (h_2,) = [n for n in view.nodes if n.title == "h_2"]
    values = hs[1].data.ravel()
    assert h_2.lines[0] == "h_2 = [" + ", ".join(f"{v:.2g}" for v in values) + "]"
    assert any(v < 0 for v in values) and "-" in h_2.lines[0]
    grad = hs[1].grad_values
    assert h_2.lines[1] == "grad [" + ", ".join(f"{g + 0.0:.2g}" for g in grad) + "]"
    (w,) = [n for n in view.nodes if n.kind == "param" and n.title == "W"]
    assert w.lines[0] == "(3, 3)"
    assert w.lines[-1] == f"||grad|| {style.fmt_norm(np.linalg.norm(rnn.W.grad))}"
    (L,) = [n for n in view.nodes if n.title == "L"]
    assert L.lines == [f"L = {loss.item():.3g}", "grad 1"]
    bare = viz.draw(loss, values=False).view_graph.nodes
    assert [n.lines for n in bare if n.title == "L"] == [["()"]]


def test_edge_colours_stretch_to_a_narrow_range_and_the_legend_says_so():
    narrow = style.Scale.for_norms([0.5, 1.0, 2.0])
    assert narrow.stretched
    assert narrow.index(0.5) == 0 and narrow.index(2.0) == len(style.EDGE_SCALE) - 1
    assert style.edge_style(0.5, narrow)[0] != style.edge_style(2.0, narrow)[0]
    assert style.edge_style(0.5)[0] == style.edge_style(0.9)[0]  # one decade: one fixed colour
    assert not style.Scale.for_norms([1e-5, 1.0]).stretched  # 5 decades: the fixed scale
    _, loss, _ = rnn_graph(4)
    source = viz.draw(loss, grads=True).source
    assert "stretched to this graph's range" in source and "step ||dL/dh_t||" in source
    x = mg.Tensor([1.0, -2.0], requires_grad=True, name="x")
    y = (x * 3.0).sum()
    y.backward(retain_graph=True, record=True)
    flat = viz.draw(y, grads=True).source
    assert "step ||dL/dh_t||" not in flat  # no time steps, no step-shading row


def test_direction_backward_draws_arrows_from_the_loss_labelled_with_norms():
    _, loss, _ = rnn_graph(2)
    forward = viz.draw(loss, grads=True)
    backward = viz.draw(loss, grads=True, direction="backward")
    assert "arrows: the way the gradient flows" in backward.source
    (h_1,) = [n for n in backward.view_graph.nodes if n.title == "h_1"]
    (a_1,) = [n for n in backward.view_graph.nodes if n.title == "a_1"]
    (edge,) = [e for e in backward.view_graph.edges if e.tail is a_1 and e.head is h_1]
    line = re.search(rf"\t{a_1.id} -> {h_1.id} \[([^\]]*)\]", backward.source).group(1)
    assert "dir=back" in line and style.fmt_norm(edge.norm) in line  # the arrow points at a_1
    assert "dir=back" not in re.search(rf"\t{a_1.id} -> {h_1.id} \[([^\]]*)\]",
                                       forward.source).group(1)
    svg = svg_of(backward)
    labels = [t.text for g in svg.iter(SVG + "g") if g.get("class") == "edge"
              for t in g.iter(SVG + "text")]
    assert style.fmt_norm(edge.norm) in labels
    with pytest.raises(ValueError, match="direction"):
        viz.draw(loss, direction="sideways")


@pytest.mark.parametrize(
    ("model", "gates"),
    [(LSTM, ["i", "f", "g", "o", "c", "h"]), (GRU, ["z", "r", "n", "h"])],
)
def test_gate_view_draws_each_gate_once_and_at_most_twelve_nodes_per_step(model, gates):
    rng = np.random.default_rng(0)
    cell = model(2, 3, 2, seed=0)
    ys, _ = cell(rng.normal(size=(3, 1, 2)))
    loss = cell.loss(ys, rng.normal(size=(3, 1, 2)))
    loss.backward(retain_graph=True, record=True)
    drawing = viz.draw(loss, grads=True)
    view = drawing.view_graph
    assert view.granularity == "gate"
    drawn = [lines[0] for lines in node_texts(svg_of(drawing))]
    for t in (1, 2, 3):
        titles = [n.title for n in view.nodes if n.cluster is not None and n.cluster.step == t]
        assert len(titles) <= 12, titles
        for gate in gates:
            assert titles.count(f"{gate}_{t}") == 1
            assert drawn.count(f"{gate}_{t}") == 1
    assert not [n for n in view.nodes if n.kind == "param"]  # written inside their gates
    (i_2,) = [n for n in view.nodes if n.title == ("i_2" if model is LSTM else "r_2")]
    assert i_2.lines[-2].startswith("uses V_")
    op_view = viz.draw(loss, granularity="op").view_graph
    assert len(op_view.nodes) > 2 * len(view.nodes)


def test_a_graph_not_from_models_keeps_the_ops_names():
    x = mg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x.tanh() * x).sum()
    assert [n.title for n in viz.draw(y).view_graph.nodes if n.kind == "op"] == [
        "tanh", "mul", "sum"
    ]
