"""Models built from minigrad ops, and the closed-form BPTT of the notes (``models.bptt``)."""

from .rnn import RNN, sequence_loss, step_loss

__all__ = ["RNN", "sequence_loss", "step_loss"]
