"""The command line under bad input, run as a user runs it (a subprocess): one line on stderr,
never a traceback, the right exit code, and no file damaged or left behind; and the library
refusing the same bad numbers."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from models import char_rnn
from models.char_rnn import CharModel, CheckpointError

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
TINY = ("--hidden", "4", "--batch", "2", "--seq-len", "5", "--quiet", "--sample-every", "0")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minigrad", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env=ENV)


def one_line_error(result: subprocess.CompletedProcess, command: str, code: int = 1) -> str:
    """The single error line of a failed run (argparse's usage lines come before it)."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    if code == 1:
        assert len(lines) == 1, result.stderr
    assert lines[-1].startswith(f"minigrad {command}: error: "), result.stderr
    return lines[-1]


@pytest.fixture
def text(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("the state h_t carries the past into a_t+1. " * 40)
    return path


# --- checkpoints: every kind of bad file is one line, and the file is left as it was ----------

def _savez(path: Path, **arrays) -> None:
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def _good_arrays(kind: str = "rnn", hidden: int = 4) -> dict:
    model = CharModel("abc", kind, hidden)
    return {"vocab": np.array(list("abc")), "settings": np.array([kind, str(hidden), "0"]),
            **{f"param/{k}": v for k, v in model.core.state_dict().items()}}


def _bad_checkpoints(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the message must say)."""
    made: dict[str, tuple[Path, str]] = {}
    good = folder / "good.npz"
    CharModel("abc", "rnn", 4).save(good)

    def add(name: str, why: str, data: bytes | None = None, **arrays) -> None:
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        else:
            _savez(path, **arrays)
        made[name] = (path, why)

    add("empty.npz", "the file is empty", b"")
    add("truncated.npz", "not a whole .npz archive", good.read_bytes()[:-300])
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    add("array.npy", "not a whole .npz archive", buffer.getvalue())
    add("script.py", "not a whole .npz archive", b"import os\nprint('hello')\n")
    add("random.bin", "not a whole .npz archive", np.random.default_rng(0).bytes(4096))
    arrays = _good_arrays()
    add("no-settings.npz", "no 'settings' array",
        **{k: v for k, v in arrays.items() if k != "settings"})
    add("negative-hidden.npz", "hidden size -5 is not in 1..",
        **arrays | {"settings": np.array(["rnn", "-5", "0"])})
    add("negative-seed.npz", "seed -1 is negative",
        **arrays | {"settings": np.array(["rnn", "4", "-1"])})
    add("repeated-vocab.npz", "the vocabulary repeats a character",
        **arrays | {"vocab": np.array(list("aba"))})
    add("empty-vocab-entry.npz", "the vocabulary holds empty entries",
        **arrays | {"vocab": np.array(["a", "", "c"])})
    add("bad-model.npz", "model 'transformer' is not one of",
        **arrays | {"settings": np.array(["transformer", "4", "0"])})
    add("nan.npz", "param/W holds nan or inf", **arrays | {"param/W": np.full((4, 4), np.nan)})
    add("wrong-shape.npz", "need param/W of shape (4, 4), the file has (4, 3)",
        **arrays | {"param/W": np.zeros((4, 3))})
    with open(folder / "pickle.npz", "wb") as file:  # an object array can only be unpickled
        np.savez(file, **arrays | {"vocab": np.array(list("abc"), dtype=object)})
    made["pickle.npz"] = (folder / "pickle.npz", "vocab.npy holds Python objects")
    # a small file whose settings claim an LSTM of hidden size 6000 (1.75 GB if built)
    add("claims-6000.npz", "hidden 6000", **_good_arrays("lstm") | {
        "settings": np.array(["lstm", "6000", "0"])})
    return made


def test_sample_refuses_every_kind_of_bad_checkpoint_in_one_line(tmp_path):
    for name, (path, why) in _bad_checkpoints(tmp_path).items():
        before = path.read_bytes()
        result = run("sample", "--load", str(path), cwd=tmp_path)
        line = one_line_error(result, "sample")
        assert line.startswith(f"minigrad sample: error: {path} is not a train-char "
                               "checkpoint ("), (name, line)
        assert why in line, (name, line)
        assert "allow_pickle" not in line, line  # never steer towards unsafe loading
        assert path.read_bytes() == before and result.stdout == ""
    missing = run("sample", "--load", str(tmp_path / "nowhere.npz"), cwd=tmp_path)
    assert "(no such file)" in one_line_error(missing, "sample")
    folder = run("sample", "--load", str(tmp_path), cwd=tmp_path)
    assert "(a folder)" in one_line_error(folder, "sample")


def test_a_checkpoint_is_validated_before_anything_is_allocated(tmp_path):
    checkpoints = _bad_checkpoints(tmp_path)
    path, _ = checkpoints["claims-6000.npz"]
    assert path.stat().st_size < 16_000
    tracemalloc.start()
    with pytest.raises(CheckpointError, match="need param/U of shape \\(3, 6000\\)"):
        CharModel.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000, peak  # the model itself would be 1.75 GB
    # settings over the bound on parameters are refused before the arrays are even looked at
    huge = tmp_path / "huge.npz"
    _savez(huge, vocab=np.array(list("abc")), settings=np.array(["lstm", "10000", "0"]))
    with pytest.raises(CheckpointError, match="has more than 268,435,456 parameters"):
        CharModel.load(huge)
    # an array whose header promises more bytes than the archive holds
    short = tmp_path / "short.npz"
    with zipfile.ZipFile(short, "w") as archive:
        with archive.open("vocab.npy", "w") as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<U1", "fortran_order": False, "shape": (10**9,)})
    with pytest.raises(CheckpointError, match="vocab.npy is cut short"):
        CharModel.load(short)


# --- sizes too large for memory: refused up front, with the estimate ---------------------------

@pytest.mark.parametrize("command", [
    ["bptt", "--hidden", "100000", "--out", "x.svg"],
    ["train-char", "--hidden", "100000", "--save", "w.npz"],
    ["gradflow", "--hidden", "100000", "--out", "x.svg"],
])
def test_sizes_too_large_for_memory_are_refused_with_the_estimate(tmp_path, command, text):
    extra = ["--text", str(text)] if command[0] == "train-char" else []
    result = run(*command, *extra, cwd=tmp_path)
    line = one_line_error(result, command[0])
    assert re.search(r"--hidden 100000.* need about [\d.]+ (GB|TB) of memory, more than the "
                     r"[\d.]+ [kMGT]?B available", line), line
    assert result.stdout == ""
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt"]


# --- numbers that make no sense: refused while parsing ----------------------------------------

@pytest.mark.parametrize("args, message", [
    (["train-char", "--clip", "-1"], "argument --clip: must be a finite number > 0, got -1"),
    (["train-char", "--clip", "0"], "argument --clip: must be a finite number > 0, got 0"),
    (["train-char", "--lr", "nan"], "argument --lr: must be a finite number > 0, got nan"),
    (["train-char", "--lr", "inf"], "argument --lr: must be a finite number > 0, got inf"),
    (["train-char", "--lr", "0"], "argument --lr: must be a finite number > 0, got 0"),
    (["train-char", "--lr", "fast"], "argument --lr: must be a number, got 'fast'"),
    (["train-char", "--temperature", "0"], "argument --temperature: must be a finite number > 0"),
    (["train-char", "--temperature", "-2"], "argument --temperature: must be a finite number > 0"),
    (["train-char", "--steps", "0"], "argument --steps: must be 1 or more, got 0"),
    (["train-char", "--batch", "-3"], "argument --batch: must be 1 or more, got -3"),
    (["train-char", "--hidden", "0"], "argument --hidden: must be 1 or more, got 0"),
    (["train-char", "--seq-len", "2.5"], "argument --seq-len: must be a whole number, got '2.5'"),
    (["train-char", "--sample-every", "-1"], "argument --sample-every: must be 0 or more"),
    (["train-char", "--seed", "-1"], "argument --seed: must be 0 or more, got -1"),
    (["sample", "--load", "w.npz", "--temperature", "0"], "argument --temperature: must be a"),
    (["sample", "--load", "w.npz", "--length", "0"], "argument --length: must be 1 or more"),
    (["bptt", "--dpi", "0", "--out", "x.png"], "argument --dpi: must be a finite number > 0"),
    (["bptt", "--seq-len", "0"], "argument --seq-len: must be 1 or more, got 0"),
    (["gradflow", "--hidden", "-1"], "argument --hidden: must be 1 or more, got -1"),
])
def test_bad_numbers_are_refused_when_parsing(tmp_path, args, message):
    result = run(*args, cwd=tmp_path)
    line = one_line_error(result, args[0], code=2)
    assert message in line, line
    assert result.stdout == "" and os.listdir(tmp_path) == []


def test_the_library_refuses_the_same_numbers():
    p = mg.Tensor([1.0, 2.0], requires_grad=True)
    p.grad = np.array([3.0, 4.0])
    nan, inf = float("nan"), float("inf")
    for lr in (nan, inf, 0.0, -0.1):
        for optimizer in (mg.optim.SGD, mg.optim.Adam):
            with pytest.raises(ValueError, match=f"{optimizer.__name__}: lr must be a finite"):
                optimizer([p], lr=lr)
    with pytest.raises(ValueError, match="SGD: momentum must be a finite number in \\[0, 1\\)"):
        mg.optim.SGD([p], lr=0.1, momentum=nan)
    with pytest.raises(ValueError, match="Adam: betas\\[1\\] must be"):
        mg.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Adam: eps must be a finite number > 0"):
        mg.optim.Adam([p], eps=0.0)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        mg.optim.Adam([p], weight_decay=-1.0)
    for max_norm in (-1.0, 0.0, nan):
        with pytest.raises(ValueError, match="clip_grad_norm: max_norm must be positive"):
            mg.optim.clip_grad_norm([p], max_norm=max_norm)
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])  # refused before touching anything
    model = CharModel("ab", "rnn", 2)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got nan"):
        model.sample(5, temperature=nan)
    with pytest.raises(ValueError, match="clip must be a positive gradient norm, got -1"):
        char_rnn.train(model, "abababab", 1, 2, 1, clip=-1.0)


# --- paths: checked before any work ------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["train-char", "--save", "."], "--save . is a folder; give a file name"),
    (["train-char", "--save", "/dev/null"], "--save /dev/null is not a regular file"),
    (["train-char", "--save", ""], "--save needs a file name, got ''"),
    (["train-char", "--hidden", "20000"], "--hidden 20000 is over 16384"),
    (["train-char", "--save", "/proc/w.npz"], "--save /proc/w.npz: cannot write in /proc"),
    (["train-char", "--save", "no/w.npz"], "--save no/w.npz: the folder no does not exist"),
    (["train-char", "--plot", "loss.gif"],
     "--plot loss.gif: the file name must end in one of .svg, .png, .pdf (got '.gif')"),
    (["bptt", "--out", "rnn.jpg"], "--out rnn.jpg: the file name must end in one of .svg, .png"),
    (["bptt", "--out", "rnn.svg", "--dpi", "300"], "--dpi sets the resolution of a .png --out"),
    (["gradflow", "--out", "flow.txt"], "--out flow.txt: the file name must end in one of"),
])
def test_paths_are_checked_before_any_work(tmp_path, args, message, text):
    extra = ["--text", str(text), "--steps", "100000"] if args[0] == "train-char" else []
    result = run(*args, *extra, cwd=tmp_path)
    assert message in one_line_error(result, args[0])
    assert result.stdout == ""  # no banner, no table: nothing was trained or unrolled
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt"]


def test_a_diverging_run_stops_and_saves_nothing(tmp_path, text):
    result = run("train-char", "--text", str(text), "--steps", "50", "--lr", "1e308",
                 "--optimizer", "sgd", *TINY, "--save", "w.npz", cwd=tmp_path)
    line = one_line_error(result, "train-char")
    assert re.search(r"the loss became (inf|nan) at step \d+; lower --lr", line), line
    assert "Warning" not in result.stderr and sorted(os.listdir(tmp_path)) == ["corpus.txt"]
    model = CharModel("ab", "rnn", 2)
    model.core.W.data[0, 0] = np.nan
    with pytest.raises(ValueError, match="W hold nan or inf .*x.npz was not written"):
        model.save(tmp_path / "x.npz")
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt"]


def test_bad_text_and_prime_are_one_line_naming_the_file_or_option(tmp_path, text):
    (tmp_path / "binary.txt").write_bytes(b"ab\xff\xfe\x00cd")
    (tmp_path / "folder").mkdir()
    train = ("train-char", "--steps", "2", *TINY, "--save", "w.npz")
    cases = [
        ([*train, "--text", "binary.txt"], "text file binary.txt is not UTF-8 text"),
        ([*train, "--text", "folder"], "text file is a folder: folder"),
        ([*train[:-2], "--batch", "5000", "--text", str(text)],
         "is too short for --batch 5000"),
    ]
    for args, message in cases:
        assert message in one_line_error(run(*args, cwd=tmp_path), "train-char")
    assert sorted(os.listdir(tmp_path)) == ["binary.txt", "corpus.txt", "folder"]
    CharModel("abc", "rnn", 2).save(tmp_path / "w.npz")
    result = run("sample", "--load", "w.npz", "--prime", "abz", cwd=tmp_path)
    assert "--prime has characters the model never saw: 'z'" in one_line_error(result, "sample")


# --- Ctrl-C during train-char ------------------------------------------------------------------

@pytest.mark.parametrize("save", [True, False])
def test_ctrl_c_stops_after_a_whole_step_saves_and_exits_130(tmp_path, text, save):
    outputs = ["--save", "w.npz", "--plot", "loss.svg"] if save else []
    process = subprocess.Popen(
        [sys.executable, "-m", "minigrad", "train-char", "--text", str(text), "--steps",
         "100000", *TINY[:-1], "1", *outputs],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=ENV)
    for line in process.stdout:  # the first progress: the sample after step 1
        if line.startswith("--- step 1 ---"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    (line,) = err.strip().splitlines()
    pattern = r"interrupted at step (\d+)" + ("; saved w.npz; wrote loss.svg" if save else "")
    match = re.fullmatch(pattern, line)
    assert match and int(match.group(1)) >= 1, line
    if save:
        assert sorted(os.listdir(tmp_path)) == ["corpus.txt", "loss.svg", "w.npz"]
        model = CharModel.load(tmp_path / "w.npz")
        assert model.hidden == 4 and len(model.sample(10)) == 10
    else:
        assert os.listdir(tmp_path) == ["corpus.txt"]


# --- train-char says what its numbers mean -----------------------------------------------------

def test_train_char_summary_banner_and_sgd_momentum(tmp_path, text):
    result = run("train-char", "--text", str(text), "--steps", "6", "--optimizer", "sgd",
                 "--lr", "0.05", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    banner, *_, last = result.stdout.strip().splitlines()
    assert "6 steps of 2 x 5 characters; SGD with momentum 0.9, lr 0.05, clip 5" in banner
    model = CharModel("".join(sorted(set(text.read_text()))), "rnn", 4)
    losses = char_rnn.train(model, text.read_text(), 6, 5, 2, lr=0.05, optimizer="sgd")
    first, final = np.mean(losses[:3]), np.mean(losses[3:])
    assert last == (f"loss {first:.4g} -> {final:.4g} "
                    "(mean of the first and last 3 steps: only 6 steps ran)")
    single = run("train-char", "--text", str(text), "--steps", "1", *TINY, cwd=tmp_path)
    assert "1 step of 2 x 5 characters" in single.stdout
    assert re.search(r"loss (\S+) -> \1 \(a single step\)$", single.stdout.strip())
    long = run("train-char", "--text", str(text), "--steps", "100", *TINY, cwd=tmp_path)
    assert long.stdout.strip().endswith("(mean of the first and last 50 steps)")
    per_stream = (len(text.read_text()) - 1) // 2
    wide = run("train-char", "--text", str(text), "--steps", "2", "--hidden", "4", "--batch", "2",
               "--seq-len", "5000", "--quiet", "--sample-every", "0", cwd=tmp_path)
    assert (f"2 steps of 2 x {per_stream} characters (--seq-len 5000 exceeds the {per_stream} "
            "characters of each of the 2 streams); Adam") in wide.stdout, wide.stdout
