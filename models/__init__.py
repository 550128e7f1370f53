"""Models built from minigrad ops, and the closed-form BPTT of the notes (``models.bptt``)."""

from .gru import GRU
from .lstm import LSTM
from .rnn import RNN, sequence_loss, step_loss

__all__ = ["GRU", "LSTM", "RNN", "sequence_loss", "step_loss"]
