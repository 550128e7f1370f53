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

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import functional as F

from .gru import GRU
from .lstm import LSTM
from .rnn import RNN
from .tbptt import detach_state

MODELS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        raise FileNotFoundError(f"text file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if len(text) < 2:
        raise ValueError(f"text file {path} is empty (needs at least 2 characters)")
    return text


class CharModel:
    """A recurrent core (RNN, LSTM or GRU) over one-hot characters, with its vocabulary."""

    def __init__(self, vocab: str, model: str = "rnn", hidden: int = 64, seed: int = 0) -> None:
        if model not in MODELS:
            raise ValueError(f"model must be one of {tuple(MODELS)}, got {model!r}")
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

    def chunk_loss(self, inputs: np.ndarray, targets: np.ndarray, state: Any, start: int = 1):
        """Mean loss per character of one chunk, and the state after it."""
        logits, state = self.unroll(inputs, state, start)
        total = None
        for t, z_t in enumerate(logits):
            L_t = F.cross_entropy(z_t, targets[:, t], reduction="sum")
            total = L_t if total is None else total + L_t
        return total * (1.0 / inputs.size), state

    def sample(self, length: int, temperature: float = 1.0, seed: int = 0,
               prime: str | None = None) -> str:
        """``length`` characters drawn one at a time from softmax(z_t / temperature)."""
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
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
        """Weights and settings with ``np.savez`` (written whole: a temp file, then renamed)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        settings = np.array([self.kind, str(self.hidden), str(self.seed)])
        try:
            np.savez(tmp, vocab=np.array(list(self.vocab)), settings=settings,
                     **{f"param/{k}": v for k, v in self.core.state_dict().items()})
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | Path) -> CharModel:
        with np.load(path) as saved:
            kind, hidden, seed = (str(s) for s in saved["settings"])
            model = cls("".join(saved["vocab"]), kind, int(hidden), int(seed))
            model.core.load_state_dict(
                {k.split("/", 1)[1]: saved[k] for k in saved.files if k.startswith("param/")})
        return model


def batches(
    codes: np.ndarray, batch: int, seq_len: int
) -> Iterator[tuple[np.ndarray, np.ndarray, bool]]:
    """Endless (inputs, targets, restart) chunks from ``batch`` parallel streams of the text."""
    length = (len(codes) - 1) // batch
    if length < 1:
        raise ValueError(f"the text ({len(codes)} characters) is too short for {batch} streams")
    streams = codes[: length * batch + 1]
    inputs = streams[:-1].reshape(batch, length)
    targets = streams[1:].reshape(batch, length)
    while True:
        for start in range(0, length, seq_len):
            yield inputs[:, start:start + seq_len], targets[:, start:start + seq_len], start == 0


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
) -> list[float]:
    """Train with truncated BPTT; returns the mean loss per character of every step."""
    if steps < 1 or seq_len < 1 or batch < 1:
        raise ValueError(f"steps, seq_len and batch must be positive: {steps}, {seq_len}, {batch}")
    params = model.core.parameters()
    if optimizer == "adam":
        opt = mg.optim.Adam(params, lr=lr)
    else:
        opt = mg.optim.SGD(params, lr=lr, momentum=0.9)
    chunks = batches(model.encode(text), batch, seq_len)
    losses, state = [], model.initial_state(batch)
    for step in range(1, steps + 1):
        inputs, targets, restart = next(chunks)
        if restart:
            state = model.initial_state(batch)
        opt.zero_grad()
        loss, state = model.chunk_loss(inputs, targets, state)
        loss.backward()
        mg.optim.clip_grad_norm(params, clip)
        opt.step()
        state = detach_state(state)
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return losses
