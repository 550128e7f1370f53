"""The term view: the k-th term of dL_t/dP drawn in bold, its norm in the title, both checked
against the closed form written term by term (models.bptt_terms)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import viz
from models import RNN
from models.bptt_terms import bptt_terms
from viz import style

SVG = "{http://www.w3.org/2000/svg}"
TITLE = re.compile(r"term k=(\d+) of dL_(\d+)/d(\w+): \|\|term\|\| = ([0-9.e+-]+)")


def unrolled(T=5, f_h="tanh", f_y="identity", loss="squared_error", seed=0, w_scale=1.0):
    """An RNN over T steps, its loss after a recording backward, and the closed form's terms."""
    rng = np.random.default_rng(seed)
    rnn = RNN(2, 3, 3, f_h=f_h, f_y=f_y, seed=seed)
    rnn.W.data *= w_scale
    xs = rng.normal(size=(T, 2, 2))
    if loss == "squared_error":
        targets = rng.normal(size=(T, 2, 3))
    else:
        targets = rng.integers(0, 3, size=(T, 2))
    ys, _ = rnn(xs)
    total = rnn.loss(ys, targets, loss)
    total.backward(retain_graph=True, record=True)
    terms = bptt_terms(rnn.params(), xs, targets, None, f_h, f_y, loss)
    return rnn, total, terms


@pytest.mark.parametrize(
    "setting",
    [
        {},
        {"f_h": "sigmoid", "w_scale": 3.0},
        {"f_h": "relu", "f_y": "softmax", "loss": "cross_entropy"},
        {"f_y": "identity", "loss": "cross_entropy", "seed": 3},
    ],
)
def test_term_norm_is_the_closed_forms_term(setting):
    rnn, loss, terms = unrolled(**setting)
    for name in ("W", "V", "b_h"):
        param = getattr(rnn, name)
        for t in range(1, 6):
            for k in range(1, t + 1):
                expected = np.linalg.norm(terms[name][(t, k)])
                got = viz.term_norm(loss, (t, k), param)
                assert got == pytest.approx(expected, rel=1e-9, abs=1e-15), (name, t, k)


def test_the_title_states_the_term_with_three_significant_digits():
    rnn, loss, terms = unrolled(T=4)
    drawing = viz.draw(loss, grads=True, term=(4, 2), highlight=rnn.W)
    match = TITLE.fullmatch(drawing.view_graph.title[0])
    assert match and match.group(1, 2, 3) == ("2", "4", "W")
    expected = np.linalg.norm(terms["W"][(4, 2)])
    assert float(match.group(4)) == pytest.approx(expected, rel=5e-3)
    assert len(match.group(4).split("e")[0].replace(".", "").lstrip("0")) >= 3
    svg = ET.fromstring(drawing.svg())
    texts = [t.text for t in svg.iter(SVG + "text")]
    assert drawing.view_graph.title[0] in texts


def expected_path(t: int, k: int) -> set[str]:
    """L_t -> yhat_t -> z_t -> h_t -> a_t -> W h_{t-1} -> h_{t-1} -> ... -> h_k -> a_k ->
    W h_{k-1}: the terms the k-th term of dL_t/dW flows through."""
    names = {f"L_{t}", f"yhat_{t}", f"z_{t}"}
    for i in range(k, t + 1):
        names |= {f"h_{i}", f"a_{i}", f"W h_{i - 1}"}
    return names


@pytest.mark.parametrize(("t", "k"), [(4, 2), (4, 4), (3, 1), (5, 1)])
def test_exactly_the_terms_path_is_bold(t, k):
    rnn, loss, _ = unrolled(T=5)
    view = viz.draw(loss, term=(t, k), highlight="W").view_graph
    bold = {n.title for n in view.nodes if n.emphasis == "bold"}
    assert bold == expected_path(t, k) | {f"W_{k}"}
    assert all(n.emphasis in ("bold", "faded") for n in view.nodes)
    for edge in view.edges:
        on = edge.tail.title in bold and edge.head.title in bold and edge.style != "sum"
        assert edge.emphasis == ("bold" if on else "faded"), (edge.tail.title, edge.head.title)
    path = [e for e in view.edges if e.emphasis == "bold"]
    assert len(path) == len(expected_path(t, k))  # a chain: one edge into each bold term


def test_the_bold_path_in_the_svg():
    rnn, loss, _ = unrolled(T=4)
    drawing = viz.draw(loss, grads=True, term=(4, 2), highlight=rnn.W)
    svg = ET.fromstring(drawing.svg())
    bold = set()
    for g in svg.iter(SVG + "g"):
        if g.get("class") != "node":
            continue
        strokes = {e.get("stroke") for e in g.iter() if e.get("stroke")}
        if style.HIGHLIGHT_COLOR.lower() in {s.lower() for s in strokes}:
            bold.add(next(g.iter(SVG + "text")).text)
    assert bold == expected_path(4, 2) | {"W_2"}


def test_the_term_view_works_on_the_op_view_too():
    rnn, loss, terms = unrolled(T=3)
    view = viz.draw(loss, term=(3, 2), highlight=rnn.W, granularity="op", shared="once")
    bold = [n for n in view.view_graph.nodes if n.emphasis == "bold"]
    assert {n.title for n in bold if n.kind == "data"} == {"W h_1", "a_2", "h_2", "W h_2",
                                                            "a_3", "h_3", "yhat_3", "L_3"}
    (w,) = [n for n in view.view_graph.nodes if n.kind == "param" and n.title == "W"]
    assert w.emphasis == "bold"
    assert [e.head.cluster.step for e in view.view_graph.edges
            if e.tail is w and e.emphasis == "bold"] == [2]


def test_drawing_a_term_leaves_the_gradients_as_they_were():
    rnn, loss, _ = unrolled(T=4)
    grad = rnn.W.grad
    before = grad.copy()
    source = viz.draw(loss, grads=True).source
    viz.draw(loss, grads=True, term=(4, 1), highlight=rnn.W)
    assert rnn.W.grad is grad and np.array_equal(grad, before)
    assert viz.draw(loss, grads=True).source == source  # recorded norms untouched


@pytest.mark.parametrize(
    ("term", "message"),
    [((2, 3), "1 <= k <= t <= 4"), ((5, 1), "1 <= k <= t <= 4"), ((3, 0), "1 <= k <= t"),
     ((0, 0), "1 <= k <= t")],
)
def test_a_bad_term_is_a_clear_error(term, message):
    rnn, loss, _ = unrolled(T=4)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        viz.draw(loss, term=term, highlight=rnn.W)
    assert f"({term[0]}, {term[1]})" in str(info.value)


def test_term_needs_a_parameter_and_a_pair():
    rnn, loss, _ = unrolled(T=3)
    with pytest.raises(ValueError, match="needs highlight="):
        viz.draw(loss, term=(2, 1))
    with pytest.raises(TypeError, match=r"pair of step numbers"):
        viz.draw(loss, term=(2,), highlight=rnn.W)
    with pytest.raises(TypeError, match=r"pair of step numbers"):
        viz.draw(loss, term="2,1", highlight=rnn.W)
    ys, _ = rnn(np.ones((3, 1, 2)))
    one_step = rnn.loss(ys, np.zeros((3, 1, 3)), t=2)
    one_step.backward(retain_graph=True, record=True)
    assert one_step.name == "L_2"  # the loss of one step keeps its name
    assert viz.draw(one_step, term=(2, 1), highlight=rnn.W).view_graph.term_title
    other = (ys[-1] ** 2).sum()
    with pytest.raises(ValueError, match="a tensor named L_3"):
        viz.draw(other, term=(3, 1), highlight=rnn.W)


def test_the_paths_edges_carry_the_terms_own_gradient():
    rnn, loss, terms = unrolled(T=5)
    view = viz.draw(loss, grads=True, term=(5, 2), highlight=rnn.W).view_graph
    (start,) = [e for e in view.edges if e.emphasis == "bold" and e.tail.kind == "copy"]
    assert start.tail.title == "W_2" and start.head.title == "W h_1"
    assert start.norm == pytest.approx(np.linalg.norm(terms["W"][(5, 2)]), rel=1e-9)
    total = viz.draw(loss, grads=True).view_graph  # the same edge under L: the sum over t >= 2
    (same,) = [e for e in total.edges if e.tail.title == "W_2" and e.head.title == "W h_1"]
    expected_total = np.linalg.norm(sum(terms["W"][(t, 2)] for t in range(2, 6)))
    assert same.norm == pytest.approx(expected_total, rel=1e-9)
    assert start.norm < same.norm
