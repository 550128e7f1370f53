"""The command line as a user runs it: a subprocess, its exit code, its output, its files."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"


PYTHONPATH = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
ENV = {**os.environ, "PYTHONPATH": PYTHONPATH}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "minigrad", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=300, env=ENV)


def test_help_on_every_command():
    for command in ([], ["bptt"], ["train-char"], ["sample"], ["gradflow"]):
        result = run(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: minigrad" in result.stdout


def test_import_minigrad_does_not_load_the_application():
    code = "import sys, minigrad; print('minigrad.cli' in sys.modules, 'models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_train_char_then_sample(tmp_path):
    weights, plot = tmp_path / "w.npz", tmp_path / "loss.svg"
    result = run("train-char", "--model", "gru", "--steps", "12", "--hidden", "16",
                 "--sample-every", "6", "--save", str(weights), "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("loss ") and " -> " in last
    assert "--- step 6 ---" in result.stdout
    assert ET.parse(plot).getroot().tag == SVG + "svg"
    sampled = run("sample", "--load", str(weights), "--length", "40", "--seed", "1")
    assert sampled.returncode == 0, sampled.stderr
    assert len(sampled.stdout.rstrip("\n")) >= 30
    assert sampled.stdout == run("sample", "--load", str(weights), "--length", "40",
                                 "--seed", "1").stdout


@pytest.mark.parametrize("content", [None, ""])
def test_train_char_with_missing_or_empty_text_writes_nothing(tmp_path, content):
    text = tmp_path / "corpus.txt"
    if content is not None:
        text.write_text(content)
    out = tmp_path / "out"
    out.mkdir()
    result = run("train-char", "--steps", "5", "--text", str(text), "--save", str(out / "w.npz"),
                 "--plot", str(out / "loss.svg"))
    assert result.returncode != 0
    assert "corpus.txt" in result.stderr
    assert "not found" in result.stderr or "empty" in result.stderr
    assert list(out.iterdir()) == []


def test_train_char_on_a_given_text(tmp_path):
    text = tmp_path / "abc.txt"
    text.write_text("abcabcabcabc " * 50)
    result = run("train-char", "--steps", "30", "--text", str(text), "--hidden", "8",
                 "--batch", "2", "--seq-len", "5", "--quiet", "--sample-every", "0")
    assert result.returncode == 0, result.stderr
    assert "vocabulary 4" in result.stdout


def test_gradflow_plots_every_model(tmp_path):
    out = tmp_path / "flow.svg"
    result = run("gradflow", "--seq-len", "12", "--hidden", "8", "--out", str(out))
    assert result.returncode == 0, result.stderr
    for name in ("rnn", "rnn-relu", "lstm", "gru"):
        assert name in result.stdout
    root = ET.parse(out).getroot()
    assert root.tag == SVG + "svg"
    assert "lstm" in ET.tostring(root, encoding="unicode")


def test_a_bad_option_exits_with_usage_and_writes_nothing(tmp_path):
    for args in (["gradflow", "--model", "transformer"], ["train-char", "--steps", "0"],
                 ["bptt", "--seq-len", "-1"], ["frobnicate"]):
        result = run(*args, "--out", str(tmp_path / "x.svg"), cwd=tmp_path)
        assert result.returncode == 2, args
        assert "usage:" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_bptt_prints_the_comparison_and_writes_the_svg(tmp_path):
    out = tmp_path / "rnn.svg"
    result = run("bptt", "--seq-len", "3", "--hidden", "3", "--grads", "--highlight", "W",
                 "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    for name in ("U", "V", "W", "b_h", "b_y", "h_0"):
        assert float(rows[name][-1]) < 1e-9, rows[name]  # max |autodiff - closed form|
    assert "agree" in result.stdout and f"wrote {out}" in result.stdout
    root = ET.parse(out).getroot()
    assert root.tag == SVG + "svg"
    clusters = [g for g in root.iter(SVG + "g") if g.get("class") == "cluster"]
    labels = [next(g.iter(SVG + "text")).text for g in clusters]
    assert [label for label in labels if label.startswith("t=")] == ["t=1", "t=2", "t=3"]


def test_bptt_with_fold_draws_a_long_sequence(tmp_path):
    out = tmp_path / "long.svg"
    result = run("bptt", "--seq-len", "60", "--fold", "2", "--grads", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "t=3" in out.read_text() and "60" in out.read_text()


def test_bptt_of_one_step_shows_the_gradient_vanishing(tmp_path):
    out = tmp_path / "vanishing.svg"
    result = run("bptt", "--seq-len", "12", "--step", "12", "--grads", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "L_12 = sum (yhat_12 - y_12)^2" in result.stdout and "agree" in result.stdout
    root = ET.parse(out).getroot()
    clusters = {next(g.iter(SVG + "text")).text: g for g in root.iter(SVG + "g")
                if g.get("class") == "cluster"}
    norms = {}
    for label in ("t=1", "t=12"):  # each step's box says ||dL/dh_t|| = value
        line = [t.text for t in clusters[label].iter(SVG + "text") if "dL/dh" in (t.text or "")]
        norms[label] = float(line[0].rsplit("=", 1)[1])
    assert norms["t=1"] < 1e-2 * norms["t=12"]
    bad = run("bptt", "--seq-len", "3", "--step", "5", "--out", str(tmp_path / "no.svg"))
    assert bad.returncode == 1 and "--step must lie in 1..3" in bad.stderr
    assert not (tmp_path / "no.svg").exists()
