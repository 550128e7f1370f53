"""A character-level language model trained with truncated BPTT.

The text is cut into ``batch`` parallel streams; each training step reads the next ``seq_len``
characters of every stream, unrolls the recurrent core over them (one-hot inputs x_t, logits
z_t = yhat_t, loss L = sum_t -log softmax(z_t)[next char]), runs backward(), clips the gradient
norm and updates with Adam. The state at the end of a chunk is carried into the next one with
``detach()``, so the gradient of each chunk stops at its start (truncated BPTT).

The default corpus is the project's own Python sources and README, read at run time: minigrad
learns to write minigrad.
"""

from __future__ import annotations

import contextlib
import math
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import functional as F
from minigrad.files import atomic_open

from . import segments
from .gru import GATES as GRU_GATES
from .gru import GRU
from .lstm import GATES as LSTM_GATES
from .lstm import LSTM
from .rnn import RNN
from .tbptt import detach_state

MODELS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
GATES = {"rnn": ("h",), "lstm": LSTM_GATES, "gru": GRU_GATES}
# Sane bounds for a checkpoint's settings, checked before anything is allocated.
MAX_HIDDEN = 16384
MAX_VOCAB = 0x110000  # every Unicode code point
MAX_PARAMETERS = 2**28  # 2 GiB of float64
SGD_MOMENTUM = 0.9  # what ``train(optimizer="sgd")`` uses
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class CheckpointError(ValueError):
    """A file that is not a checkpoint written by ``CharModel.save`` (the message says why)."""


def parameter_shapes(kind: str, vocab_size: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """The shape of each parameter of a ``kind`` model: V_* (H, D), W_* (H, H), b_* (H,) per
    gate (the plain RNN's one "gate" is named V, W, b_h), U (O, H), b_y (O,), with D = O = the
    vocabulary size; computed without building the model."""
    H, D = hidden, vocab_size
    shapes: dict[str, tuple[int, ...]] = {}
    for gate in GATES[kind]:
        tag = "" if kind == "rnn" else f"_{gate}"
        shapes |= {f"V{tag}": (H, D), f"W{tag}": (H, H), f"b{tag or '_h'}": (H,)}
    return shapes | {"U": (D, H), "b_y": (D,)}


def parameter_count(kind: str, vocab_size: int, hidden: int) -> int:
    """How many numbers the model's parameters hold."""
    return sum(math.prod(shape) for shape in parameter_shapes(kind, vocab_size, hidden).values())


def default_corpus() -> str:
    """The project's own sources (minigrad/, models/, viz/) and README, as one text."""
    files = sorted(
        path
        for folder in ("minigrad", "models", "viz")
        for path in (PROJECT_ROOT / folder).glob("*.py")
    )
    readme = PROJECT_ROOT / "README.md"
    if readme.exists():
        files.append(readme)
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def read_text(path: str | Path) -> str:
    """A UTF-8 text file; an error that names it when it is missing or empty."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file {'is a folder' if path.is_dir() else 'not found'}: "
                                f"{path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"text file {path} is not UTF-8 text ({error.reason} at byte "
                         f"{error.start})") from None
    if len(text) < 2:
        state = "is empty" if not text else "holds a single character"
        raise ValueError(f"text file {path} {state} (needs at least 2 characters)")
    return text


class CharModel:
    """A recurrent core (RNN, LSTM or GRU) over one-hot characters, with its vocabulary."""

    def __init__(self, vocab: str, model: str = "rnn", hidden: int = 64, seed: int = 0) -> None:
        if model not in MODELS:
            raise ValueError(f"model must be one of {tuple(MODELS)}, got {model!r}")
        if not vocab or not 1 <= hidden <= MAX_HIDDEN:
            raise ValueError(f"CharModel needs a vocabulary and a hidden size in 1..{MAX_HIDDEN}, "
                             f"got {len(vocab)} characters and hidden={hidden}")
        self.vocab, self.kind, self.hidden, self.seed = vocab, model, hidden, seed
        self.index = {ch: i for i, ch in enumerate(vocab)}
        self.one_hot = np.eye(len(vocab))  # row i is character i's input x_t
        self.core = MODELS[model](len(vocab), hidden, len(vocab), seed=seed)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {''.join(unknown)!r}")
        return np.array([self.index[ch] for ch in text], dtype=np.int64)

    def initial_state(self, batch: int) -> Any:
        zeros = np.zeros((batch, self.hidden))
        if self.kind == "lstm":
            return mg.Tensor(zeros), mg.Tensor(zeros.copy())
        return mg.Tensor(zeros)

    def unroll(self, codes: np.ndarray, state: Any, start: int = 1) -> tuple[list, Any]:
        """Logits for each column of ``codes`` (B, T) and the state after the last one."""
        logits = []
        for t in range(codes.shape[1]):
            with mg.scope(f"t={start + t}"):
                y, state = self.core.step(self.one_hot[codes[:, t]], state, start + t)
            logits.append(y)
        return logits, state

    def chunk_loss(self, inputs: np.ndarray, targets: np.ndarray, state: Any, start: int = 1,
                   checkpoint: int | str | None = None):
        """Mean loss per character of one chunk, and the state after it.

        With ``checkpoint`` (k, or "sqrt") the chunk runs in segments of k steps whose graphs
        backward recomputes (``models.segments``): the same loss and gradients, less memory.
        """
        if checkpoint is not None:
            return self._checkpointed_loss(inputs, targets, state, start, checkpoint)
        logits, state = self.unroll(inputs, state, start)
        total = None
        for t, z_t in enumerate(logits):
            L_t = F.cross_entropy(z_t, targets[:, t], reduction="sum")
            total = L_t if total is None else total + L_t
        return total * (1.0 / inputs.size), state

    def _checkpointed_loss(self, inputs: np.ndarray, targets: np.ndarray, state: Any,
                           start: int, checkpoint: int | str):
        def body(state: Any, a: int, b: int) -> tuple[Any, tuple]:
            total = None
            for t in range(a, b):
                with mg.scope(f"t={start + t}"):
                    z_t, state = self.core.step(self.one_hot[inputs[:, t]], state, start + t)
                L_t = F.cross_entropy(z_t, targets[:, t], reduction="sum")
                total = L_t if total is None else total + L_t
            return state, (total,)

        steps = inputs.shape[1]
        k = segments.segment_length(checkpoint, steps)
        total = None
        results = segments.run_segments(self.core, state, steps, k, start, body)
        for _, (segment_loss,) in results:
            total = segment_loss if total is None else total + segment_loss
        return total * (1.0 / inputs.size), results[-1][0]

    def sample(self, length: int, temperature: float = 1.0, seed: int = 0,
               prime: str | None = None) -> str:
        """``length`` characters drawn one at a time from softmax(z_t / temperature)."""
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
        if length < 1:
            raise ValueError(f"length must be at least 1, got {length}")
        rng = np.random.default_rng(seed)
        prime = prime or self.vocab[rng.integers(len(self.vocab))]
        out, state = [], self.initial_state(1)
        with mg.no_grad():
            logits, state = self.unroll(self.encode(prime)[None, :], state)
            z = logits[-1].data[0]
            for _ in range(length):
                p = np.exp((z - z.max()) / temperature)
                code = int(rng.choice(len(self.vocab), p=p / p.sum()))
                out.append(self.vocab[code])
                logits, state = self.unroll(np.array([[code]]), state)
                z = logits[-1].data[0]
        return "".join(out)

    def save(self, path: str | Path) -> None:
        """Weights and settings in ``np.savez``'s format, written whole or not at all."""
        settings = np.array([self.kind, str(self.hidden), str(self.seed)])
        weights = self.core.state_dict()
        broken = [name for name, values in weights.items() if not np.all(np.isfinite(values))]
        if broken:  # load() would refuse it: never write a checkpoint nobody can use
            raise ValueError(f"CharModel.save: {', '.join(broken)} hold nan or inf (training "
                             f"diverged); {path} was not written")
        with atomic_open(path) as file:
            np.savez(file, vocab=np.array(list(self.vocab)), settings=settings,
                     **{f"param/{k}": v for k, v in weights.items()})

    @classmethod
    def load(cls, path: str | Path) -> CharModel:
        """A model saved by ``save``; CheckpointError, before any allocation, for anything else."""
        vocab, kind, hidden, seed, params = read_checkpoint(path)
        model = cls(vocab, kind, hidden, seed)
        model.core.load_state_dict(params)
        return model


def read_checkpoint(path: str | Path) -> tuple[str, str, int, int, dict[str, np.ndarray]]:
    """(vocab, kind, hidden, seed, parameters) of a ``CharModel.save`` file, every setting
    checked against the stored arrays' shapes and the sane bounds before any parameter is read."""
    path = Path(path)
    if not path.is_file():
        raise _not_a_checkpoint(path, "a folder" if path.is_dir() else "no such file")
    try:
        if path.stat().st_size == 0:
            raise CheckpointError("the file is empty")
        # one open file throughout: a save that replaces the path meanwhile cannot mix two files
        with open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
            headers = _headers(archive)
            vocab, kind, hidden, seed = _settings(archive, headers)
            params = {name.split("/", 1)[1]: _array(archive, name) for name in headers
                      if name.startswith("param/")}
    except zipfile.BadZipFile as error:
        raise _not_a_checkpoint(path, f"not a whole .npz archive: {error}") from None
    except (CheckpointError, OSError, ValueError, EOFError, KeyError, TypeError, OverflowError,
            RuntimeError) as error:  # RuntimeError: zipfile's encrypted or unknown compression
        raise _not_a_checkpoint(path, str(error)) from None
    for name, values in params.items():
        if not np.all(np.isfinite(values)):
            raise _not_a_checkpoint(path, f"param/{name} holds nan or inf")
    return vocab, kind, hidden, seed, params


def _not_a_checkpoint(path: Path, why: str) -> CheckpointError:
    """The one-line error: whatever a library said, on one line and not too long."""
    why = " ".join(why.split())
    if len(why) > 300:
        why = why[:297] + "..."
    return CheckpointError(f"{path} is not a train-char checkpoint ({why})")


def _headers(archive: zipfile.ZipFile) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in an .npz, read from the .npy headers alone."""
    headers = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise CheckpointError(f"an .npz holds only .npy arrays, found {info.filename!r}")
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise CheckpointError(f"{info.filename}: unsupported .npy version {version}")
            stored = info.file_size - member.tell()  # the bytes after the header
        if dtype.hasobject:  # only a pickle can load it, and loading a pickle runs code
            raise CheckpointError(f"{info.filename} holds Python objects")
        if dtype.itemsize * math.prod(shape) > stored:
            raise CheckpointError(f"{info.filename} is cut short: its shape {shape} needs "
                                  f"more bytes than the archive holds")
        headers[info.filename[: -len(".npy")]] = (shape, dtype)
    return headers


def _array(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    """One array of the archive, never unpickled."""
    with archive.open(f"{name}.npy") as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _settings(archive: zipfile.ZipFile, headers: dict) -> tuple[str, str, int, int]:
    """Vocabulary and settings, checked: bounds first, then every parameter's shape."""
    for name, kind_code, size in (("settings", "U", 3), ("vocab", "U", None)):
        if name not in headers:
            raise CheckpointError(f"no {name!r} array")
        shape, dtype = headers[name]
        if dtype.kind != kind_code or len(shape) != 1 or (size and shape[0] != size):
            raise CheckpointError(f"{name!r} is {dtype} {shape}, not strings")
    if headers["settings"][1].itemsize > 4 * 64 or headers["vocab"][1].itemsize != 4:
        raise CheckpointError("'settings' or 'vocab' holds over-long strings")
    if not 1 <= headers["vocab"][0][0] <= MAX_VOCAB:
        raise CheckpointError(f"vocabulary of {headers['vocab'][0][0]} characters")
    kind, hidden_text, seed_text = (str(v) for v in _array(archive, "settings"))
    vocab = "".join(_array(archive, "vocab"))
    if kind not in MODELS:
        raise CheckpointError(f"model {kind!r} is not one of {tuple(MODELS)}")
    try:
        hidden, seed = int(hidden_text), int(seed_text)
    except ValueError:
        raise CheckpointError(f"settings hidden={hidden_text!r}, seed={seed_text!r} are not "
                              "whole numbers") from None
    if not 1 <= hidden <= MAX_HIDDEN:
        raise CheckpointError(f"hidden size {hidden} is not in 1..{MAX_HIDDEN}")
    if seed < 0:
        raise CheckpointError(f"seed {seed} is negative")
    if len(vocab) != headers["vocab"][0][0]:
        raise CheckpointError("the vocabulary holds empty entries")
    if len(set(vocab)) != len(vocab):
        raise CheckpointError("the vocabulary repeats a character")
    if parameter_count(kind, len(vocab), hidden) > MAX_PARAMETERS:
        raise CheckpointError(f"a {kind} of hidden size {hidden} over {len(vocab)} characters "
                              f"has more than {MAX_PARAMETERS:,} parameters")
    expected = {f"param/{k}": v for k, v in parameter_shapes(kind, len(vocab), hidden).items()}
    found = {name: shape for name, (shape, _) in headers.items() if name.startswith("param/")}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(
            n for n in expected if found[n] != expected[n])
        name = wrong[0]
        raise CheckpointError(f"its settings ({kind}, hidden {hidden}, {len(vocab)} characters) "
                              f"need {name} of shape {expected.get(name, 'none')}, the file has "
                              f"{found.get(name, 'none')}")
    if any(headers[name][1].kind != "f" for name in found):
        raise CheckpointError("the parameters are not floating-point arrays")
    return vocab, kind, hidden, seed


def stream_length(text_length: int, batch: int) -> int:
    """Characters in each of the ``batch`` parallel streams (the last one is only a target)."""
    return (text_length - 1) // batch


def batches(
    codes: np.ndarray, batch: int, seq_len: int
) -> Iterator[tuple[np.ndarray, np.ndarray, bool]]:
    """Endless (inputs, targets, restart) chunks from ``batch`` parallel streams of the text."""
    length = stream_length(len(codes), batch)
    if length < 1:
        raise ValueError(f"the text ({len(codes)} characters) is too short for {batch} streams")
    streams = codes[: length * batch + 1]
    inputs = streams[:-1].reshape(batch, length)
    targets = streams[1:].reshape(batch, length)
    while True:
        for start in range(0, length, seq_len):
            yield inputs[:, start:start + seq_len], targets[:, start:start + seq_len], start == 0


@contextlib.contextmanager
def traced_peak(into: list[int] | None) -> Iterator[None]:
    """Trace the block with tracemalloc and append its peak in bytes to ``into`` (None: not)."""
    if into is None or tracemalloc.is_tracing():
        yield
        return
    tracemalloc.start()
    try:
        yield
        into.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def train(
    model: CharModel,
    text: str,
    steps: int,
    seq_len: int = 25,
    batch: int = 16,
    lr: float = 3e-3,
    clip: float = 5.0,
    optimizer: str = "adam",
    on_step: Callable[[int, float], None] | None = None,
    checkpoint: int | str | None = None,
    step_memory: list[int] | None = None,
) -> list[float]:
    """Train with truncated BPTT; returns the mean loss per character of every step.

    ``checkpoint`` (k or "sqrt") checkpoints each chunk in segments of k steps (same losses).
    With a list ``step_memory``, the first step runs under tracemalloc and the list gets its
    peak in bytes (forward, backward and update).
    """
    if steps < 1 or seq_len < 1 or batch < 1:
        raise ValueError(f"steps, seq_len and batch must be positive: {steps}, {seq_len}, {batch}")
    if not clip > 0:  # a negative clip would flip the gradient's sign and train uphill
        raise ValueError(f"clip must be a positive gradient norm, got {clip}")
    params = model.core.parameters()
    if optimizer == "adam":
        opt = mg.optim.Adam(params, lr=lr)
    else:
        opt = mg.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM)
    chunks = batches(model.encode(text), batch, seq_len)
    losses, state = [], model.initial_state(batch)
    for step in range(1, steps + 1):
        inputs, targets, restart = next(chunks)
        if restart:
            state = model.initial_state(batch)
        with traced_peak(step_memory if step == 1 else None):
            opt.zero_grad()
            loss, state = model.chunk_loss(inputs, targets, state, checkpoint=checkpoint)
            loss.backward()
            mg.optim.clip_grad_norm(params, clip)
            opt.step()
        state = detach_state(state)
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return losses
