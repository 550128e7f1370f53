"""``minigrad bptt`` as a user runs it (a subprocess): the output activation and loss options,
the term view and its norm against the closed form, the backward arrows, folding by itself, and
help and errors that speak in options."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_cli import ENV, SVG, run

from models import RNN
from models.bptt_terms import bptt_terms
from viz import style

TERM = re.compile(r"term k=(\d+) of dL_(\d+)/d(\w+): \|\|term\|\| = ([0-9.e+-]+)")


def node_titles(svg: ET.Element) -> list[str]:
    return [next(g.iter(SVG + "text")).text for g in svg.iter(SVG + "g")
            if g.get("class") == "node"]


def closed_form_term(T, t, k, name, f_y="identity", loss="squared_error", H=3, seed=0):
    """The term as the CLI's data make it, from models.bptt_terms (D = O = 2, B = 1)."""
    rng = np.random.default_rng(seed)
    rnn = RNN(2, H, 2, f_h="tanh", f_y=f_y, seed=seed)
    xs = rng.standard_normal((T, 1, 2))
    if loss == "squared_error":
        targets = rng.standard_normal((T, 1, 2))
    else:
        targets = rng.integers(0, 2, size=(T, 1))
    terms = bptt_terms(rnn.params(), xs, targets, None, "tanh", f_y, loss, t=t)
    return float(np.linalg.norm(terms[name][(t, k)]))


@pytest.mark.parametrize(
    ("f_y", "loss"),
    [("identity", "squared_error"), ("sigmoid", "squared_error"), ("softmax", "squared_error"),
     ("identity", "cross_entropy"), ("softmax", "cross_entropy")],
)
def test_every_output_and_loss_the_closed_form_supports_agrees(tmp_path, f_y, loss):
    out = tmp_path / "g.svg"
    result = run("bptt", "--seq-len", "3", "--f-y", f_y, "--loss", loss, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"f_y={f_y}" in result.stdout and f"loss={loss}" in result.stdout
    assert "agree" in result.stdout and "DISAGREE" not in result.stdout
    titles = node_titles(ET.parse(out).getroot())
    for term in ("x_3", "V x_3", "W h_2", "a_3", "h_3", "yhat_3", "L_3", "W h_0", "h_0"):
        assert term in titles, term
    if loss == "squared_error":
        assert {"z_3", "y_3"} <= set(titles)


def test_the_table_and_the_graph_name_h_0_and_one_steps_loss_alike(tmp_path):
    out = tmp_path / "g.svg"
    result = run("bptt", "--seq-len", "3", "--step", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert "h_0" in rows and "h0" not in rows
    assert "loss L_2 = sum (yhat_2 - y_2)^2" in result.stdout
    titles = node_titles(ET.parse(out).getroot())
    assert "h_0" in titles and "L_2" in titles and "L" not in titles


@pytest.mark.parametrize(("t", "k"), [(4, 4), (4, 1), (3, 2)])
def test_term_prints_and_draws_the_closed_forms_term(tmp_path, t, k):
    out = tmp_path / "term.svg"
    result = run("bptt", "--seq-len", "4", "--grads", "--term", f"{t},{k}", "--highlight", "V",
                 "--out", str(out))
    assert result.returncode == 0, result.stderr
    expected = closed_form_term(4, t, k, "V")
    (printed,) = [m for m in map(TERM.match, result.stdout.splitlines()) if m]
    assert printed.group(1, 2, 3) == (str(k), str(t), "V")
    assert float(printed.group(4)) == pytest.approx(expected, rel=1e-6)
    svg = ET.parse(out).getroot()
    (title,) = [m for m in map(TERM.fullmatch, (x.text or "" for x in svg.iter(SVG + "text")))
                if m]
    assert float(title.group(4)) == pytest.approx(expected, rel=5e-3)
    bold = {next(g.iter(SVG + "text")).text for g in svg.iter(SVG + "g")
            if g.get("class") == "node"
            and any((e.get("stroke") or "").lower() == style.HIGHLIGHT_COLOR for e in g.iter())}
    path = {f"L_{t}", f"yhat_{t}", f"z_{t}", f"V x_{k}", f"V_{k}"}
    path |= {f"h_{i}" for i in range(k, t + 1)} | {f"a_{i}" for i in range(k, t + 1)}
    path |= {f"W h_{i - 1}" for i in range(k + 1, t + 1)}
    assert bold == path


def test_term_with_cross_entropy_and_softmax_matches_the_closed_form(tmp_path):
    result = run("bptt", "--seq-len", "4", "--f-y", "softmax", "--loss", "cross_entropy",
                 "--term", "4,2", "--highlight", "W", "--out", str(tmp_path / "g.svg"))
    assert result.returncode == 0, result.stderr
    (printed,) = [m for m in map(TERM.match, result.stdout.splitlines()) if m]
    expected = closed_form_term(4, 4, 2, "W", "softmax", "cross_entropy")
    assert float(printed.group(4)) == pytest.approx(expected, rel=1e-6)


def test_backward_draws_the_gradients_way_with_norms(tmp_path):
    out = tmp_path / "back.svg"
    result = run("bptt", "--seq-len", "2", "--grads", "--backward", "--out", str(out))
    assert result.returncode == 0, result.stderr
    svg = ET.parse(out).getroot()
    texts = [t.text for t in svg.iter(SVG + "text")]
    assert any("the way the gradient flows" in (x or "") for x in texts)
    labels = [t.text for g in svg.iter(SVG + "g") if g.get("class") == "edge"
              for t in g.iter(SVG + "text")]
    assert sum(bool(re.fullmatch(r"\d\.\d\de[+-]\d\d", x or "")) for x in labels) >= 10


def test_a_graph_over_max_nodes_is_folded_and_says_so(tmp_path):
    out = tmp_path / "long.svg"
    result = run("bptt", "--seq-len", "40", "--max-nodes", "200", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "more than --max-nodes 200: drawn with --fold 2" in result.stdout
    assert "agree" in result.stdout and out.exists()
    assert "t=3 \u2026 38" in out.read_text()
    refused = run("bptt", "--seq-len", "40", "--fold", "5", "--max-nodes", "50",
                  "--out", str(tmp_path / "no.svg"))
    assert refused.returncode == 1
    assert "--fold 5" in refused.stderr and "--max-nodes 50" in refused.stderr
    assert "max_nodes=" not in refused.stderr and "fold=" not in refused.stderr
    assert not (tmp_path / "no.svg").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--term", "5,2", "--highlight", "W"], "--term t,k must satisfy 1 <= k <= t <= --seq-len 4"),
     (["--term", "2,3", "--highlight", "W"], "--term t,k must satisfy"),
     (["--term", "2,1"], "--term t,k needs --highlight"),
     (["--step", "2", "--term", "3,1", "--highlight", "W"], "--step 2"),
     (["--loss", "cross_entropy", "--f-y", "sigmoid"], "--f-y sigmoid")],
)
def test_bad_combinations_are_refused_naming_the_options(tmp_path, args, message):
    result = run("bptt", *args, "--out", str(tmp_path / "x.svg"))
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "x.svg").exists()
    assert "agree" not in result.stdout  # refused before any work


def test_help_shows_every_default_and_a_description():
    for command, defaults in (("bptt", ["(default: 4)", "(default: tanh)", "(default: 2000)",
                                        "(default: squared_error)", "(default: identity)"]),
                              ("train-char", ["(default: 2000)", "(default: rnn)"]),
                              ("sample", ["(default: 300)", "(default: 0.8)"]),
                              ("gradflow", ["(default: 60)", "(default: gradflow.svg)"])):
        result = run(command, "--help")
        assert result.returncode == 0
        text = " ".join(result.stdout.split())
        for default in defaults:
            assert default in text, (command, default)
        description = result.stdout.split("\n\n")[1]
        assert len(description.split()) > 8, (command, description)
    bptt_help = " ".join(run("bptt", "--help").stdout.split())
    for option in ("--f-y", "--loss", "--term", "--backward"):
        assert option in bptt_help


def test_a_hanging_dot_is_reported_in_options(tmp_path):
    fake = tmp_path / "slow-dot"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    env = {**ENV, "MINIGRAD_DOT": str(fake)}
    code = ("import functools, sys, viz; from minigrad import cli; "
            "viz.render = functools.partial(viz.render, timeout=1); "  # not 30 s of waiting
            "sys.exit(cli.main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, "bptt", "--seq-len", "2", "--out",
                             str(tmp_path / "g.svg")], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 1
    assert "--fold" in result.stderr and "fold=" not in result.stderr
    assert not (tmp_path / "g.svg").exists()
