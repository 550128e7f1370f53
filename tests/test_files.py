"""Files written whole or not at all: the atomic helper, checkpoints under concurrent saves,
and pictures whose format follows the file's suffix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_viz import rnn_graph

import minigrad as mg
import viz
from minigrad.files import atomic_open, atomic_write, check_target
from models.char_rnn import CharModel

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
PNG = b"\x89PNG\r\n\x1a\n"


def test_atomic_write_replaces_the_file_whole_with_the_usual_permissions(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")
    assert atomic_write(target, "h_t = f_h(a_t)\n") == str(target)
    assert target.read_text() == "h_t = f_h(a_t)\n"
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not tempfile's private 0o600
    assert os.listdir(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "weights.npz"
    target.write_bytes(b"old weights")
    with pytest.raises(error):
        with atomic_open(target) as file:
            file.write(b"half of the new")
            raise error("stopped halfway")
    assert target.read_bytes() == b"old weights"
    assert os.listdir(tmp_path) == ["weights.npz"]


def test_a_device_or_a_folder_is_never_replaced(tmp_path):
    for target in ("/dev/null", tmp_path):
        with pytest.raises(ValueError, match="is (not a regular file|a folder); give a file"):
            atomic_write(target, "x")
    assert Path("/dev/null").is_char_device() and os.listdir(tmp_path) == []


def test_a_missing_folder_is_an_error_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "no" / "such" / "file.txt", "x")
    assert os.listdir(tmp_path) == []


def test_check_target_refuses_folders_missing_or_unwritable_places_and_suffixes(tmp_path):
    assert check_target(tmp_path / "a.svg", "--out", (".svg",)) == tmp_path / "a.svg"
    cases = [
        (tmp_path, None, "is a folder"),
        ("/dev/null", None, "is not a regular file"),
        (tmp_path / "missing" / "a.npz", None, "does not exist"),
        ("/proc/a.npz", None, "cannot write in /proc"),  # refused even to root
        (tmp_path / "a.gif", (".svg", ".png"), "must end in one of .svg, .png"),
    ]
    for path, suffixes, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            check_target(path, "--save", suffixes)
        assert str(info.value).startswith(f"--save {path}")
    assert os.listdir(tmp_path) == []  # the probe for writability left nothing behind


SAVER = """
import sys, time
from models.char_rnn import CharModel
model = CharModel("abcdefgh", "lstm", int(sys.argv[2]), seed=int(sys.argv[2]))
stop = time.monotonic() + float(sys.argv[3])
count = 0
while time.monotonic() < stop:
    model.save(sys.argv[1])
    count += 1
print(count)
"""


def test_two_concurrent_savers_and_a_reader_never_see_a_torn_file(tmp_path):
    target = tmp_path / "ckpt.npz"
    models = {h: CharModel("abcdefgh", "lstm", h, seed=h) for h in (5, 6)}
    savers = [subprocess.Popen([sys.executable, "-c", SAVER, str(target), str(h), "2.0"],
                               stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
              for h in models]
    while not target.exists():
        time.sleep(0.01)
    loads, seen = 0, set()
    while any(s.poll() is None for s in savers):
        loaded = CharModel.load(target)  # a torn file would raise CheckpointError here
        expected = models[loaded.hidden].core.state_dict()
        for name, values in loaded.core.state_dict().items():
            np.testing.assert_array_equal(values, expected[name])
        loads, seen = loads + 1, seen | {loaded.hidden}
    saves = [int(s.communicate()[0]) for s in savers]
    assert all(s.returncode == 0 for s in savers)
    assert min(saves) > 20 and loads > 20 and seen == {5, 6}, (saves, loads, seen)
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporaries left by either saver


def test_render_format_follows_the_suffix_and_dpi_sets_a_png_resolution(tmp_path):
    _, loss, _ = rnn_graph(2)
    viz.render(loss, tmp_path / "g.png")
    viz.render(loss, tmp_path / "big.png", dpi=192)
    viz.render(loss, tmp_path / "g.pdf")
    viz.render(loss, tmp_path / "g.svg")
    assert (tmp_path / "g.png").read_bytes().startswith(PNG)
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF-")
    assert (tmp_path / "g.svg").read_bytes().lstrip().startswith(b"<?xml")

    def width(path: Path) -> int:  # the IHDR chunk follows the signature: width, then height
        return int.from_bytes(path.read_bytes()[16:20], "big")

    assert width(tmp_path / "big.png") == pytest.approx(2 * width(tmp_path / "g.png"), rel=0.02)
    assert sorted(os.listdir(tmp_path)) == ["big.png", "g.pdf", "g.png", "g.svg"]


def test_render_refuses_an_unknown_suffix_or_a_bad_dpi_before_drawing(tmp_path, monkeypatch):
    marker = tmp_path / "dot-ran"
    fake = tmp_path / "fake-dot"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MINIGRAD_DOT", str(fake))
    released = mg.Tensor([1.0], requires_grad=True)
    (released * 2).sum().backward()  # drawing a released graph would raise a different error
    cases = [
        ("g.jpg", {}, "cannot tell the format of .*'.jpg'.*.svg, .png, .pdf"),
        ("g", {}, "suffix '\\(none\\)'"),
        ("g.svg", {"dpi": 300}, "a .svg is a vector picture"),
        ("g.png", {"dpi": 0}, "dpi must be a number"),
        ("g.png", {"dpi": float("nan")}, "dpi must be a number"),
        ("g.svg", {"format": "png"}, "format='png' disagrees"),
    ]
    for name, options, message in cases:
        with pytest.raises(ValueError, match=message):
            viz.render(released, tmp_path / "out" / name, **options)
    (tmp_path / "folder.svg").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        viz.render(released, tmp_path / "folder.svg")
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_every_command_writes_the_format_its_suffix_names(tmp_path):
    def run(*args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "minigrad", *args], capture_output=True,
                                text=True, cwd=tmp_path, env=ENV, timeout=120)
        assert result.returncode == 0, result.stderr

    run("bptt", "--seq-len", "2", "--out", "rnn.png")
    run("bptt", "--seq-len", "2", "--out", "slide.png", "--dpi", "150")
    run("bptt", "--seq-len", "2", "--out", "rnn.pdf")
    run("gradflow", "--seq-len", "5", "--hidden", "4", "--model", "rnn", "--out", "flow.png")
    (tmp_path / "corpus.txt").write_text("abcabcabc " * 30)
    run("train-char", "--text", "corpus.txt", "--steps", "2", "--hidden", "4", "--batch", "2",
        "--seq-len", "5", "--quiet", "--sample-every", "0", "--plot", "loss.pdf")
    for name, magic in (("rnn.png", PNG), ("rnn.pdf", b"%PDF-"), ("flow.png", PNG),
                        ("loss.pdf", b"%PDF-")):
        assert (tmp_path / name).read_bytes().startswith(magic), name
    widths = [int.from_bytes((tmp_path / name).read_bytes()[16:20], "big")
              for name in ("rnn.png", "slide.png")]
    assert widths[1] == pytest.approx(widths[0] * 150 / 96, rel=0.02)  # Graphviz's default: 96
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt", "flow.png", "loss.pdf", "rnn.pdf",
                                            "rnn.png", "slide.png"]
