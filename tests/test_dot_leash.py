"""``dot`` on a short leash: its output checked before it replaces a file, its error text cut
short, and the process gone when its Python parent dies. Each case runs a fake ``dot`` (a script
in tmp_path named by MINIGRAD_DOT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_viz import rnn_graph

import viz
from viz.errors import TAIL_CHARS, TAIL_LINES

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def fake_dot(tmp_path: Path, body: str, monkeypatch=None) -> Path:
    path = tmp_path / "fake-dot"
    path.write_text("#!/bin/sh\ncat > /dev/null\n" + body)  # read the DOT text like dot does
    path.chmod(0o755)
    if monkeypatch is not None:
        monkeypatch.setenv("MINIGRAD_DOT", str(path))
    return path


@pytest.mark.parametrize("name, output, problem", [
    ("g.svg", "printf 'this is not XML <'", "not XML"),
    ("g.svg", "printf '<html><body>hi</body></html>'", "the XML root is <html>, not <svg>"),
    ("g.svg", "true", "it is empty"),
    ("g.png", "printf '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'", "not b'\\x89PNG"),
    ("g.pdf", "printf 'GIF89a....'", "not b'%PDF-'"),
])
def test_garbage_from_a_dot_that_exits_0_never_replaces_the_file(tmp_path, monkeypatch, name,
                                                                 output, problem):
    fake_dot(tmp_path, output + "\n", monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_bytes(b"the old picture")
    _, loss, _ = rnn_graph(2)
    with pytest.raises(viz.DotFailedError) as info:
        viz.render(loss, out / name)
    message = str(info.value)
    assert "exited 0 but its output is not a" in message and problem in message, message
    assert (out / name).read_bytes() == b"the old picture"
    assert os.listdir(out) == [name]


def test_a_dot_flooding_stderr_gives_the_last_20_lines(tmp_path, monkeypatch):
    fake_dot(tmp_path, "i=0; while [ $i -lt 20000 ]; do echo \"warning $i: bad node\" >&2; "
                       "i=$((i+1)); done\necho 'the real error' >&2\nexit 3\n", monkeypatch)
    _, loss, _ = rnn_graph(2)
    with pytest.raises(viz.DotFailedError) as info:
        viz.render(loss, tmp_path / "g.svg")
    message = str(info.value)
    lines = message.splitlines()
    assert "exit status 3" in lines[0] and "(19981 earlier lines cut)" in lines[0]
    assert lines[1:] == [f"warning {i}: bad node" for i in range(19981, 20000)] + [
        "the real error"]
    assert len(lines) - 1 == TAIL_LINES
    assert not (tmp_path / "g.svg").exists()


def test_one_endless_line_of_error_text_is_cut_too(tmp_path, monkeypatch):
    fake_dot(tmp_path, "head -c 3000000 /dev/zero | tr '\\0' x >&2\necho ' end' >&2\nexit 1\n",
             monkeypatch)
    _, loss, _ = rnn_graph(2)
    with pytest.raises(viz.DotFailedError) as info:
        viz.render(loss, tmp_path / "g.svg")
    message = str(info.value)
    assert len(message) < TAIL_CHARS + 300 and message.endswith("xxx end"), len(message)


PARENT = """
import sys, viz
from test_viz import rnn_graph
_, loss, _ = rnn_graph(2)
viz.render(loss, sys.argv[1], timeout=120)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            state = file.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_dot_dies_with_its_parent(tmp_path, how):
    pid_file = tmp_path / "dot.pid"
    dot = fake_dot(tmp_path, f"echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}\n"
                             "exec sleep 60\n")
    out = tmp_path / "out"
    out.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(out / "g.svg")], cwd=ROOT / "tests",
        env={**ENV, "MINIGRAD_DOT": str(dot),
             "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), ENV["PYTHONPATH"]])})
    deadline = time.monotonic() + 30
    while not pid_file.exists():
        assert parent.poll() is None, "the parent ended before dot started"
        assert time.monotonic() < deadline, "the fake dot never started"
        time.sleep(0.02)
    dot_pid = int(pid_file.read_text())
    try:
        assert _running(dot_pid)
        parent.send_signal(how)
        assert parent.wait(timeout=10) == -how
        deadline = time.monotonic() + 5
        while _running(dot_pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _running(dot_pid), "dot kept running after its parent died"
        assert os.listdir(out) == []
    finally:  # a failed check must not leave the fake dot behind
        if _running(dot_pid):
            os.kill(dot_pid, signal.SIGKILL)
