"""viz draws checkpointed segments as boxes recomputed in backward, the boundary states stored."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

import minigrad as mg
import viz
from models import RNN

SVG = "{http://www.w3.org/2000/svg}"


def checkpointed_loss(T: int = 9, k: int = 3) -> mg.Tensor:
    rng = np.random.default_rng(0)
    rnn = RNN(2, 3, 2, seed=0)
    return rnn.total_loss(rng.standard_normal((T, 1, 2)), rng.standard_normal((T, 1, 2)),
                          checkpoint=k)


def texts(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}text")]


def test_segments_are_boxes_recomputed_in_backward_and_only_boundaries_are_stored():
    svg = ET.fromstring(viz.draw(checkpointed_loss()).svg())
    groups = list(svg.iter(f"{SVG}g"))
    clusters = {" ".join(texts(g)[:1]): texts(g) for g in groups if g.get("class") == "cluster"}
    assert set(clusters) == {"t=1..3", "t=4..6", "t=7..9"}
    assert all("recomputed in backward" in lines[:2] for lines in clusters.values())
    nodes = [texts(g) for g in groups if g.get("class") == "node"]
    stored = sorted(lines[0] for lines in nodes if "stored for backward" in lines)
    assert stored == ["h_0", "h_3", "h_6"]  # the states the segments start from
    ops = {lines[0] for lines in nodes}
    assert "tanh" not in ops and "checkpoint output" not in ops  # no step's graph is drawn
    assert sum(lines[0] == "segment" for lines in nodes) == 3


def test_dashed_boxes_and_thick_outlines_in_the_dot_source():
    source = viz.draw(checkpointed_loss(4, 2)).source
    assert source.count('style="rounded,dashed,filled"') == 2
    assert source.count("penwidth=3") == 2  # h_0 and h_2
    assert "recomputed in backward" in source


def test_an_unnamed_output_of_a_plain_checkpoint_is_still_drawn():
    x = mg.Tensor(np.ones(2), requires_grad=True, name="x")
    a, b = mg.checkpoint(lambda x: (x * 2, x.exp()), x)
    lines = viz.text(a.sum() + b.sum())
    assert "checkpoint output" in lines and "recomputed in backward" in lines
