"""train-char with --checkpoint: the same training as without, and its peak memory reported."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from models import char_rnn

TEXT = "the notes unroll h_t = f_h(V x_t + W h_{t-1} + b_h) over time; " * 8


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("checkpoint", ["sqrt", 3])
def test_checkpointed_training_follows_the_same_loss_curve(kind, checkpoint):
    runs = {}
    for option in (None, checkpoint):
        model = char_rnn.CharModel("".join(sorted(set(TEXT))), kind, hidden=12, seed=3)
        losses = char_rnn.train(model, TEXT, steps=6, seq_len=10, batch=2, checkpoint=option)
        runs[option] = np.array(losses), {n: p.data for n, p in model.core.named_parameters()}
    (plain, weights), (checked, checked_weights) = runs[None], runs[checkpoint]
    np.testing.assert_allclose(checked, plain, rtol=1e-9, atol=0)
    for name, values in weights.items():
        np.testing.assert_allclose(checked_weights[name], values, rtol=1e-9, atol=1e-12)


def test_step_memory_is_smaller_with_checkpointing():
    peaks = {}
    for option in (None, "sqrt"):
        model = char_rnn.CharModel("".join(sorted(set(TEXT))), "rnn", hidden=32, seed=0)
        step_memory: list[int] = []
        char_rnn.train(model, TEXT, steps=2, seq_len=100, batch=2, checkpoint=option,
                       step_memory=step_memory)
        peaks[option] = step_memory[0]
    assert 0 < peaks["sqrt"] < peaks[None] / 2


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minigrad", "train-char", "--steps", "2",
                           "--seq-len", "16", "--batch", "2", "--hidden", "8", "--quiet",
                           "--sample-every", "0", *args], capture_output=True, text=True)


def test_cli_reports_peak_memory_with_checkpointing():
    done = cli("--checkpoint", "sqrt")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    memory = [line for line in lines if line.startswith("peak memory: ")]
    assert len(memory) == 1 and "--checkpoint sqrt" in memory[0] and "MB" in memory[0]
    assert lines[-1].startswith("loss ")


@pytest.mark.parametrize("bad", ["0", "cube", "-3"])
def test_cli_refuses_a_bad_segment_length(bad):
    done = cli("--checkpoint", bad)
    assert done.returncode == 2
    assert "--checkpoint" in done.stderr and "sqrt or a positive number" in done.stderr
