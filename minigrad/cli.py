"""The ``minigrad`` command line (also ``python -m minigrad``).

The only module of the minigrad folder that imports ``models`` and ``viz``; ``import minigrad``
never loads it. In every command ``--seq-len`` counts time steps and ``--steps`` training
iterations.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

PARAMETERS = ("U", "V", "W", "b_h", "b_y", "h0")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def bptt_command(args: argparse.Namespace) -> int:
    """Unroll an RNN, backprop through the graph, check it against the closed form, draw it."""
    import minigrad as mg
    import viz
    from models import RNN
    from models.bptt import bptt

    rng = np.random.default_rng(args.seed)
    rnn = RNN(args.input, args.hidden, args.output, f_h=args.f_h, seed=args.seed)
    xs = rng.standard_normal((args.seq_len, args.batch, args.input))
    targets = rng.standard_normal((args.seq_len, args.batch, args.output))
    h0 = mg.Tensor(np.zeros((args.batch, args.hidden)), requires_grad=True, name="h_0")
    ys, _ = rnn(xs, h0)
    loss = rnn.loss(ys, targets, "squared_error")
    loss.backward(retain_graph=True, record=True)

    closed = bptt(rnn.params(), xs, targets, h0.data, args.f_h, "identity", "squared_error")
    autodiff = {name: p.grad for name, p in rnn.named_parameters()} | {"h0": h0.grad}
    print(f"RNN  T={args.seq_len}  B={args.batch}  D={args.input}  H={args.hidden}  "
          f"O={args.output}  f_h={args.f_h}  loss L = sum_t sum (yhat_t - y_t)^2 = {loss.item():.6g}")
    print(f"{'parameter':<10}{'shape':<10}{'||dL/dp||':>14}{'max |autodiff - closed form|':>32}")
    worst = 0.0
    for name in PARAMETERS:
        diff = float(np.max(np.abs(autodiff[name] - closed[name])))
        worst = max(worst, diff)
        shape = "x".join(map(str, closed[name].shape))
        print(f"{name:<10}{shape:<10}{np.linalg.norm(closed[name]):>14.6g}{diff:>32.3g}")
    verdict = "agree" if worst < 1e-9 else "DISAGREE"
    print(f"autodiff on the unrolled graph and the closed-form BPTT {verdict} (worst {worst:.3g})")

    highlight = getattr(rnn, args.highlight) if args.highlight else None
    path = viz.render(loss, args.out, grads=args.grads, highlight=highlight, fold=args.fold,
                      max_nodes=args.max_nodes)
    print(f"wrote {path}")
    return 0 if worst < 1e-9 else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: reverse-mode autodiff on numpy, and BPTT drawn as a graph.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bptt = commands.add_parser(
        "bptt",
        help="unroll an RNN, compare backward() with the closed-form BPTT, draw the graph",
        description="Unroll the RNN of the notes over --seq-len time steps, run backward() on "
        "the unrolled graph, print per parameter the largest difference from the closed-form "
        "BPTT (models.bptt), and render the graph to SVG.",
    )
    bptt.add_argument("--seq-len", type=_positive, default=4, help="time steps T (default 4)")
    bptt.add_argument("--hidden", type=_positive, default=3, help="hidden size H (default 3)")
    bptt.add_argument("--input", type=_positive, default=2, help="input size D (default 2)")
    bptt.add_argument("--output", type=_positive, default=2, help="output size O (default 2)")
    bptt.add_argument("--batch", type=_positive, default=1, help="batch rows B (default 1)")
    bptt.add_argument("--f-h", default="tanh", choices=("tanh", "sigmoid", "relu", "identity"),
                      help="hidden activation f_h (default tanh)")
    bptt.add_argument("--highlight", choices=("U", "V", "W", "b_h", "b_y"),
                      help="draw every path from the loss back to this parameter in bold")
    bptt.add_argument("--grads", action="store_true",
                      help="colour edges by the norm of the gradient that flowed along them")
    bptt.add_argument("--fold", type=_non_negative, default=None,
                      help="draw the first and last K steps, fold the middle (0: rolled view)")
    bptt.add_argument("--max-nodes", type=_positive, default=2000,
                      help="refuse to draw a larger graph (default 2000)")
    bptt.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bptt.add_argument("--out", default="rnn-bptt.svg", help="SVG file to write")
    bptt.set_defaults(run=bptt_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"minigrad {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
