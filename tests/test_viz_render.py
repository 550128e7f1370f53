"""viz rendering: SVG written by the real ``dot`` and parsed with xml.etree, and the runner's
promises (missing ``dot``, a hanging ``dot``, files written whole or not at all).

These tests never skip: without Graphviz's ``dot`` they fail and say what to install."""

from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_viz import PARAMS, rnn_graph

import minigrad as mg
import viz

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"


@pytest.fixture
def dot():
    """The real dot; fail (never skip) when it is missing."""
    try:
        return viz.find_dot()
    except viz.DotNotFoundError as error:
        pytest.fail(f"rendering tests need Graphviz's dot: {error}")


def render_svg(tmp_path, root, **options) -> ET.Element:
    path = viz.render(root, tmp_path / "graph.svg", **options)
    assert path == str(tmp_path / "graph.svg")
    assert os.listdir(tmp_path) == ["graph.svg"]  # no stray .gv or temporary files
    return ET.parse(path).getroot()


def groups(svg: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in svg.iter(SVG + "g") if g.get("class") == cls]


def title(group: ET.Element) -> str:
    return group.find(SVG + "title").text


def texts(group: ET.Element) -> list[str]:
    return [t.text for t in group.iter(SVG + "text")]


def step_clusters(svg: ET.Element) -> dict[str, ET.Element]:
    found = {texts(g)[0]: g for g in groups(svg, "cluster") if texts(g)[0].startswith("t=")}
    return found


def drawn_title(edge) -> str:
    """An edge's title in the SVG: ``tail->head``, or ``head->tail`` for an edge drawn backward
    (written the other way round with ``dir=back``, so its arrow still points at its head)."""
    ends = (edge.head, edge.tail) if edge.backward else (edge.tail, edge.head)
    return f"{ends[0].id}->{ends[1].id}"


def bounds(group: ET.Element) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of the first shape in a cluster, node or edge group."""
    shape = next(e for e in group.iter() if e.tag in (SVG + "path", SVG + "polygon"))
    pairs = re.findall(r"(-?[\d.]+),(-?[\d.]+)", shape.get("d") or shape.get("points"))
    xs, ys = [float(x) for x, _ in pairs], [float(y) for _, y in pairs]
    return min(xs), max(xs), min(ys), max(ys)


def edge_stroke(svg: ET.Element, tail: str, head: str) -> str:
    (edge,) = [g for g in groups(svg, "edge") if title(g) == f"{tail}->{head}"]
    return next(edge.iter(SVG + "path")).get("stroke")


def test_svg_has_a_labelled_cluster_per_step(dot, tmp_path):
    _, loss, _ = rnn_graph(5)
    svg = render_svg(tmp_path, loss)
    assert sorted(step_clusters(svg), key=lambda s: int(s[2:])) == [f"t={t}" for t in range(1, 6)]


def test_svg_shared_once_draws_each_parameter_once_with_an_edge_per_step(dot, tmp_path):
    T = 4
    _, loss, _ = rnn_graph(T)
    svg = render_svg(tmp_path, loss, shared="once")
    nodes = groups(svg, "node")
    for name in PARAMS:
        assert sum(texts(n)[0] == name for n in nodes) == 1, name
    (w,) = [n for n in nodes if texts(n)[0] == "W"]
    out = [g for g in groups(svg, "edge") if title(g).startswith(title(w) + "->")]
    assert len(out) == T


def test_svg_per_step_draws_dashed_copies_and_one_legend_node(dot, tmp_path):
    T = 4
    _, loss, _ = rnn_graph(T)
    svg = render_svg(tmp_path, loss, shared="per_step", grads=True)
    w_nodes = [n for n in groups(svg, "node") if texts(n)[0] == "W"]

    def dashed(node):
        return any(
            s.get("stroke-dasharray")
            for s in node.iter()
            if s.tag in (SVG + "path", SVG + "polygon")
        )

    assert sum(dashed(n) for n in w_nodes) == T
    (legend,) = [n for n in w_nodes if not dashed(n)]
    assert any(t.startswith("||grad||") for t in texts(legend))
    assert any(texts(g)[0].startswith("parameters") for g in groups(svg, "cluster"))


def test_svg_grads_show_a_vanishing_gradient(dot, tmp_path):
    T = 8
    _, loss, hs = rnn_graph(T, last_only=True, w_scale=0.2)
    assert hs[0].grad_norm < 1e-3 * hs[-1].grad_norm  # the premise: it does vanish
    drawing = viz.draw(loss, grads=True)
    svg = render_svg(tmp_path, loss, grads=True)
    strokes = []
    for h in (hs[0], hs[-1]):  # the edge from tanh into h_t carries dL/dh_t
        (node,) = [n for n in drawing.view_graph.nodes if n.tensor is h and n.kind == "data"]
        (edge,) = [e for e in drawing.view_graph.edges if e.head is node]
        strokes.append(edge_stroke(svg, edge.tail.id, node.id))
    assert strokes[0] != strokes[1]
    clusters = step_clusters(svg)
    fills = [next(clusters[f"t={t}"].iter(SVG + "path")).get("fill") for t in (1, T)]
    assert fills[0] != fills[1]
    assert "||dL/dh_1||" in " ".join(texts(clusters["t=1"]))


def test_svg_every_node_has_a_tooltip(dot, tmp_path):
    rnn, loss, _ = rnn_graph(3)
    svg = render_svg(tmp_path, loss, grads=True, values=True)
    nodes = groups(svg, "node")
    assert len(nodes) > 40
    for node in nodes:
        tips = [a.get(XLINK_TITLE) for a in node.iter(SVG + "a")]
        assert tips and tips[0], title(node)
    (w,) = [n for n in nodes if texts(n)[0] == "W"]
    tip = next(w.iter(SVG + "a")).get(XLINK_TITLE)
    assert "value" in tip and "grad" in tip and "\n" in tip


def test_svg_names_with_markup_and_newlines_render(dot, tmp_path):
    name = 'a<b>&"c": d\ne\\'
    with mg.scope('s<1>&"x":y'):
        x = mg.Tensor([1.0, 2.0], requires_grad=True, name=name)
        y = (x * 2.0).sum()
    y.name = 'L "total" <&>'
    svg = render_svg(tmp_path, y, values=True)
    all_text = [t for g in groups(svg, "node") for t in texts(g)]
    assert 'a<b>&"c": d' in all_text and "e\\" in all_text
    assert 'L "total" <&>' in all_text
    assert any(texts(g)[0] == 's<1>&"x":y' for g in groups(svg, "cluster"))
    tips = [a.get(XLINK_TITLE) for a in svg.iter(SVG + "a")]
    assert any(t.startswith('a<b>&"c": d\ne\\: parameter') for t in tips)


def test_svg_fold_draws_the_promised_box(dot, tmp_path):
    _, loss, _ = rnn_graph(10)
    svg = render_svg(tmp_path, loss, fold=2, grads=True)
    assert sorted(step_clusters(svg)) == ["t=1", "t=10", "t=2", "t=9"]
    (box,) = [g for g in groups(svg, "node") if texts(g)[0].startswith("t=3")]
    assert texts(box)[0] == "t=3 \u2026 8 (\u00d7 6)"
    assert texts(box)[1].startswith("||dL/dh_t|| ")
    (tmp_path / "graph.svg").unlink()
    svg = render_svg(tmp_path, loss, fold=0)
    (step,) = step_clusters(svg)
    assert step.startswith("t=1 \u2026 10")
    assert any("\u00d7 10" in texts(g) for g in groups(svg, "edge"))


def test_svg_highlight_makes_the_paths_to_w_bold(dot, tmp_path):
    rnn, loss, _ = rnn_graph(3)
    drawing = viz.draw(loss, highlight=rnn.W)
    svg = render_svg(tmp_path, loss, highlight=rnn.W)
    width = {
        title(g): float(next(g.iter(SVG + "path")).get("stroke-width", "1"))
        for g in groups(svg, "edge")
    }
    assert any(edge.backward for edge in drawing.view_graph.edges)
    for edge in drawing.view_graph.edges:
        w = width[drawn_title(edge)]
        assert (w >= 3) if edge.emphasis == "bold" else (w < 1)


def step_order(svg: ET.Element) -> list[str]:
    """Step clusters and the box of folded steps, left to right."""
    found = [(bounds(g)[0], label) for label, g in step_clusters(svg).items()]
    found += [(bounds(g)[0], "box") for g in groups(svg, "node") if "\u2026" in texts(g)[0]]
    return [label for _, label in sorted(found)]


@pytest.mark.parametrize(
    ("T", "options", "expected"),
    [
        (4, {"grads": True, "highlight": "W"}, ["t=1", "t=2", "t=3", "t=4"]),
        (6, {"shared": "per_step", "grads": True}, [f"t={t}" for t in range(1, 7)]),
        (10, {"fold": 2}, ["t=1", "t=2", "box", "t=9", "t=10"]),
        (12, {"fold": 1, "shared": "per_step"}, ["t=1", "box", "t=12"]),
    ],
)
def test_svg_steps_stand_side_by_side_in_time_order(dot, tmp_path, T, options, expected):
    _, loss, _ = rnn_graph(T)
    svg = render_svg(tmp_path, loss, rankdir="auto", **options)
    assert step_order(svg) == expected
    clusters = step_clusters(svg)
    tops = {bounds(g)[2] for g in clusters.values()}
    assert max(tops) - min(tops) < 30  # lined up, not a staircase
    (total,) = [g for g in groups(svg, "node") if texts(g)[0] == "L"]
    assert bounds(total)[2] > max(bounds(g)[3] for g in clusters.values())  # L after the steps
    assert bounds(total)[0] > bounds(clusters["t=1"])[1]


def test_svg_demo_is_compact_and_recurrent_edges_stay_between_their_steps(dot, tmp_path):
    rnn, loss, _ = rnn_graph(4)
    drawing = viz.draw(loss, grads=True, highlight=rnn.W, rankdir="auto")
    svg = render_svg(tmp_path, drawing)
    width, height = (float(svg.get(side).removesuffix("pt")) for side in ("width", "height"))
    assert 1.0 <= width / height <= 3.0, (width, height)  # a column per step, copies beside
    clusters = step_clusters(svg)
    edges = {title(g): g for g in groups(svg, "edge")}
    recurrent = [e for e in drawing.view_graph.edges if e.backward and e.style != "sum"]
    assert [e.tail.title for e in recurrent] == ["h_1", "h_2", "h_3"]
    for edge in recurrent:
        step = edge.head.cluster.step
        left, right, _, _ = bounds(edges[drawn_title(edge)])
        assert left >= bounds(clusters[f"t={step - 1}"])[0]
        assert right <= bounds(clusters[f"t={step}"])[1]


def test_svg_detached_state_shows_the_cut(dot, tmp_path):
    rnn, _, hs = rnn_graph(3, record=False)
    ys, _ = rnn(np.ones((2, 1, 2)), h0=hs[-1].detach())
    svg = render_svg(tmp_path, rnn.loss(ys, np.zeros((2, 1, 2))))
    (cut,) = [g for g in groups(svg, "node") if texts(g)[0].endswith("detach()")]
    assert texts(cut)[1].startswith("cut from h_3")
    assert any(shape.get("stroke-dasharray") for shape in cut.iter(SVG + "path"))


def test_svg_is_the_same_across_two_renders_and_a_drawing_renders_as_is(dot, tmp_path):
    _, loss, _ = rnn_graph(4)
    first = viz.render(loss, tmp_path / "a.svg", grads=True)
    second = viz.render(viz.draw(loss, grads=True), tmp_path / "b.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert first.endswith("a.svg") and second.endswith("b.svg")
    with pytest.raises(TypeError, match="already drawn"):
        viz.render(viz.draw(loss), tmp_path / "c.svg", grads=True)


def test_jupyter_display_is_inline_svg_from_the_runner(dot, tmp_path, monkeypatch):
    _, loss, _ = rnn_graph(2)
    drawing = viz.draw(loss)
    bundle = drawing._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]
    assert "<svg" in drawing._repr_svg_()
    fake = tmp_path / "fake-dot"
    fake.write_text("#!/bin/sh\ncat > /dev/null\necho '<svg>fake</svg>'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MINIGRAD_DOT", str(fake))
    assert drawing._repr_mimebundle_() == {"image/svg+xml": "<svg>fake</svg>\n"}


def test_max_nodes_refuses_before_dot_runs(tmp_path, monkeypatch):
    marker = tmp_path / "dot-ran"
    fake = tmp_path / "fake-dot"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MINIGRAD_DOT", str(fake))
    _, loss, _ = rnn_graph(300, record=False)
    with pytest.raises(viz.GraphTooLargeError):
        viz.render(loss, tmp_path / "out" / "g.svg")
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_missing_dot_gives_install_help_and_source_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("MINIGRAD_DOT", raising=False)
    _, loss, _ = rnn_graph(2)
    with pytest.raises(viz.DotNotFoundError) as info:
        viz.render(loss, tmp_path / "g.svg")
    message = str(info.value)
    assert "apt" in message and "brew" in message and "conda" in message
    assert "MINIGRAD_DOT" in message and ".source" in message
    assert os.listdir(tmp_path) == []
    assert viz.draw(loss).source.startswith("digraph")
    monkeypatch.setenv("MINIGRAD_DOT", str(tmp_path / "no-such-dot"))
    with pytest.raises(viz.DotNotFoundError, match="MINIGRAD_DOT"):
        viz.draw(loss)._repr_mimebundle_()


def test_a_hanging_dot_hits_the_timeout_and_writes_nothing(tmp_path, monkeypatch):
    bin_dir, out_dir = tmp_path / "bin", tmp_path / "out"
    bin_dir.mkdir()
    out_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text("#!/bin/sh\nsleep 10\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("MINIGRAD_DOT", raising=False)
    _, loss, _ = rnn_graph(2)
    start = time.perf_counter()
    with pytest.raises(viz.RenderTimeoutError) as info:
        viz.render(loss, out_dir / "g.svg", timeout=1)
    assert time.perf_counter() - start < 5
    assert "fold" in str(info.value) and "timeout=1" in str(info.value)
    assert os.listdir(out_dir) == []


def test_a_failing_dot_reports_its_message_and_writes_nothing(tmp_path, monkeypatch):
    fake = tmp_path / "fake-dot"
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MINIGRAD_DOT", str(fake))
    _, loss, _ = rnn_graph(2)
    with pytest.raises(viz.DotFailedError, match="syntax error in line 1"):
        viz.render(loss, tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_render_replaces_an_existing_file_whole(dot, tmp_path):
    target = tmp_path / "graph.svg"
    target.write_text("old")
    _, loss, _ = rnn_graph(2)
    render_svg(tmp_path, loss)
    assert target.read_text().lstrip().startswith("<?xml")


def test_the_errors_are_runtime_errors():
    for error in (viz.GraphTooLargeError, viz.DotNotFoundError, viz.RenderTimeoutError):
        assert issubclass(error, RuntimeError)
