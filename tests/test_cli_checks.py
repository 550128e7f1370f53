"""The CLI's up-front memory estimates, against the peak that tracemalloc measures (numpy's
arrays included): an estimate must never be below what the command really allocates, or a size
that does not fit would pass the check and fail with a MemoryError halfway."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli_checks as checks
from models import RNN, char_rnn
from models.bptt import bptt
from models.gradflow import hidden_grad_norms


def peak_bytes(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("T, B, D, H, O", [(4, 1, 2, 300, 2), (200, 1, 2, 10, 2),
                                           (20, 30, 5, 40, 5)])
def test_bptt_estimate_bounds_the_measured_peak(T, B, D, H, O):
    def work():  # what minigrad bptt computes before it draws
        rng = np.random.default_rng(0)
        rnn = RNN(D, H, O, seed=0)
        xs, targets = rng.standard_normal((T, B, D)), rng.standard_normal((T, B, O))
        h0 = mg.Tensor(np.zeros((B, H)), requires_grad=True)
        ys, _ = rnn(xs, h0)
        rnn.loss(ys, targets, "squared_error").backward(retain_graph=True, record=True)
        bptt(rnn.params(), xs, targets, h0.data, "tanh", "identity", "squared_error")

    measured, estimate = peak_bytes(work), checks.bptt_bytes(T, B, D, H, O)
    assert measured <= estimate <= 6 * measured, (measured, estimate)


@pytest.mark.parametrize("kind, H, T, B", [("rnn", 200, 5, 2), ("lstm", 20, 30, 20),
                                           ("gru", 60, 10, 4)])
def test_train_char_estimate_bounds_the_measured_peak(kind, H, T, B):
    text = "".join(chr(65 + i % 40) for i in range(3000))
    vocab = "".join(sorted(set(text)))

    def work():
        model = char_rnn.CharModel(vocab, kind, H)
        char_rnn.train(model, text, 2, T, B)

    estimate = checks.train_bytes(char_rnn.parameter_count(kind, len(vocab), H), T, B,
                                  len(vocab), H, len(char_rnn.GATES[kind]))
    measured = peak_bytes(work)
    assert measured <= estimate <= 6 * measured, (measured, estimate)


@pytest.mark.parametrize("kind, gates, T, H", [("lstm", 4, 5, 200), ("rnn", 1, 200, 16)])
def test_gradflow_estimate_bounds_the_measured_peak(kind, gates, T, H):
    measured = peak_bytes(lambda: hidden_grad_norms(kind, T, H))
    estimate = checks.gradflow_bytes(T, H, gates)
    assert measured <= estimate <= 10 * measured, (measured, estimate)


def test_available_memory_is_a_positive_number_here():
    available = checks.available_memory()
    assert available is not None and 0 < available
    assert checks.human(480e9) == "480 GB" and checks.human(999) == "999 B"
