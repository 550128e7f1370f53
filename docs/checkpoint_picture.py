"""Draw docs/rnn-checkpoint.svg: a 9-step RNN's loss built in checkpointed segments of 3 steps."""

import sys

import numpy as np

import viz
from models import RNN


def main(path: str) -> None:
    rnn = RNN(2, 3, 2, seed=0)
    rng = np.random.default_rng(0)
    xs, targets = rng.standard_normal((9, 1, 2)), rng.standard_normal((9, 1, 2))
    viz.render(rnn.total_loss(xs, targets, checkpoint=3), path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/rnn-checkpoint.svg")
