"""The ``minigrad`` command line (also ``python -m minigrad``).

The only module of the minigrad folder that imports ``models`` and ``viz``; ``import minigrad``
never loads it. In every command ``--seq-len`` counts time steps and ``--steps`` training
iterations.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    if args.step is not None and not 1 <= args.step <= args.seq_len:
        raise ValueError(f"--step must lie in 1..{args.seq_len}, got {args.step}")
    ys, _ = rnn(xs, h0)
    loss = rnn.loss(ys, targets, "squared_error", t=args.step)
    loss.backward(retain_graph=True, record=True)

    closed = bptt(rnn.params(), xs, targets, h0.data, args.f_h, "identity", "squared_error",
                  t=args.step)
    autodiff = {name: p.grad for name, p in rnn.named_parameters()} | {"h0": h0.grad}
    print(f"RNN  T={args.seq_len}  B={args.batch}  D={args.input}  H={args.hidden}  "
          f"O={args.output}  f_h={args.f_h}")
    k = args.step
    formula = "L = sum_t sum (yhat_t - y_t)^2" if k is None else f"L_{k} = sum (yhat_{k} - y_{k})^2"
    print(f"loss {formula} = {loss.item():.6g}")
    print(f"{'parameter':<10}{'shape':<10}{'||dL/dp||':>14}{'relative error':>16}"
          f"{'max |autodiff - closed form|':>32}")
    worst = 0.0  # norm-wise: ||g - g_ref|| / ||g_ref||, the project's measure
    for name in PARAMETERS:
        reference = np.linalg.norm(closed[name])
        relative = np.linalg.norm(autodiff[name] - closed[name]) / max(reference, 1e-300)
        worst = max(worst, relative)
        diff = float(np.max(np.abs(autodiff[name] - closed[name])))
        shape = "x".join(map(str, closed[name].shape))
        print(f"{name:<10}{shape:<10}{reference:>14.6g}{relative:>16.3g}{diff:>32.3g}")
    verdict = "agree" if worst < 1e-9 else "DISAGREE"
    print(f"autodiff on the unrolled graph and the closed-form BPTT {verdict} "
          f"(worst relative error {worst:.3g})")

    highlight = getattr(rnn, args.highlight) if args.highlight else None
    path = viz.render(loss, args.out, grads=args.grads, highlight=highlight, fold=args.fold,
                      max_nodes=args.max_nodes, rankdir="auto")
    print(f"wrote {path}")
    if args.html:
        page = viz.html(loss, args.html, highlight=highlight, fold=args.fold,
                        max_nodes=args.max_nodes, rankdir="auto")
        print(f"wrote {page} (open it in a browser: it steps through the backward pass)")
    return 0 if worst < 1e-9 else 1


def _require_matplotlib(what: str) -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller
        matplotlib.rcParams["svg.hashsalt"] = "minigrad"  # the same plot gives the same file
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            f"{what} needs matplotlib, an optional extra: pip install -e '.[demo]' "
            "(or pip install matplotlib)"
        ) from None
    return plt


def _save_figure(fig: Any, out: str) -> str:
    """Write the figure whole or not at all: to a temp file beside it, then rename."""
    path = Path(out)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "svg", bbox_inches="tight",
                    metadata={"Date": None} if path.suffix == ".svg" else None)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return str(path)


def _progress(total: int, enabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        print("(pip install -e '.[demo]' for a progress bar)", file=sys.stderr)
        return None
    return tqdm(total=total, unit="step", disable=not enabled, dynamic_ncols=True)


def train_char_command(args: argparse.Namespace) -> int:
    """Train a character-level model with truncated BPTT and print samples as it learns."""
    from models import char_rnn

    text = char_rnn.read_text(args.text) if args.text else char_rnn.default_corpus()
    plt = _require_matplotlib("--plot") if args.plot else None
    for target in (args.save, args.plot):
        if target and not Path(target).resolve().parent.is_dir():
            raise FileNotFoundError(f"folder of {target} does not exist")
    model = char_rnn.CharModel("".join(sorted(set(text))), args.model, args.hidden, args.seed)
    print(f"{args.model}: {len(text):,} characters, vocabulary {len(model.vocab)}, "
          f"hidden {args.hidden}, {args.steps} steps of {args.batch} x {args.seq_len} characters")
    bar = _progress(args.steps, not args.quiet)
    started = time.perf_counter()

    def on_step(step: int, loss: float) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
        elif step % 100 == 0 and not args.quiet:
            print(f"step {step}: loss {loss:.3f}")
        if args.sample_every and step % args.sample_every == 0:
            sample = model.sample(120, args.temperature, seed=step)
            (bar.write if bar is not None else print)(f"--- step {step} ---\n{sample}")

    losses = char_rnn.train(model, text, args.steps, args.seq_len, args.batch, args.lr,
                            args.clip, args.optimizer, on_step)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - started
    if args.save:
        model.save(args.save)
        print(f"saved {args.save}")
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(np.arange(1, len(losses) + 1), losses, lw=0.8)
        ax.set(xlabel="training step", ylabel="loss per character (nats)",
               title=f"char-{args.model}: truncated BPTT, chunks of {args.seq_len}")
        print(f"wrote {_save_figure(fig, args.plot)}")
    window = min(50, len(losses))
    print(f"{args.steps} steps in {seconds:.1f} s ({args.steps / seconds:.1f} steps/s)")
    print(f"loss {np.mean(losses[:window]):.3f} -> {np.mean(losses[-window:]):.3f}")
    return 0


def sample_command(args: argparse.Namespace) -> int:
    from models import char_rnn

    model = char_rnn.CharModel.load(args.load)
    print(model.sample(args.length, args.temperature, args.seed, args.prime))
    return 0


def gradflow_command(args: argparse.Namespace) -> int:
    """Plot ||dL_T/dh_k|| against T - k for each model: vanishing gradients, measured."""
    from models.gradflow import hidden_grad_norms

    plt = _require_matplotlib("gradflow")
    fig, ax = plt.subplots(figsize=(6, 3.8))
    distances = np.arange(args.seq_len)
    print(f"{'model':<10}" + "".join(f"{'T-k=' + str(d):>12}" for d in (0, 10, 25, args.seq_len - 1)
                                     if d < args.seq_len))
    for name in args.model:
        norms = hidden_grad_norms(name, args.seq_len, args.hidden, seed=args.seed)[::-1]
        ax.semilogy(distances, norms, label=name)
        print(f"{name:<10}" + "".join(f"{norms[d]:>12.3g}" for d in (0, 10, 25, args.seq_len - 1)
                                      if d < args.seq_len))
    ax.set(xlabel="steps back, T - k", ylabel="||dL_T / dh_k||",
           title=f"How far back the gradient reaches (T = {args.seq_len}, H = {args.hidden})")
    ax.legend()
    print(f"wrote {_save_figure(fig, args.out)}")
    return 0


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
    bptt.add_argument("--step", type=_positive, default=None, metavar="K",
                      help="differentiate the loss of step K alone (default: the sum over steps)")
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
    bptt.add_argument("--html", metavar="PAGE",
                      help="also write a page that steps through backward() node by node")
    bptt.set_defaults(run=bptt_command)

    train = commands.add_parser(
        "train-char", help="train a character-level RNN/LSTM/GRU with truncated BPTT",
        description="Train a character-level language model on the project's own sources "
        "(or --text FILE) with truncated BPTT, softmax cross-entropy, gradient clipping and Adam.",
    )
    train.add_argument("--model", default="rnn", choices=("rnn", "lstm", "gru"))
    train.add_argument("--steps", type=_positive, default=2000, help="training iterations")
    train.add_argument("--seq-len", type=_positive, default=25, help="time steps per chunk")
    train.add_argument("--batch", type=_positive, default=16, help="parallel text streams")
    train.add_argument("--hidden", type=_positive, default=64, help="hidden size")
    train.add_argument("--lr", type=float, default=3e-3, help="learning rate")
    train.add_argument("--optimizer", default="adam", choices=("adam", "sgd"))
    train.add_argument("--clip", type=float, default=5.0, help="max gradient norm")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--text", help="UTF-8 text file to learn (default: the project's sources)")
    train.add_argument("--save", help="write the trained weights here (np.savez)")
    train.add_argument("--plot", help="write the loss curve here (SVG/PNG; needs matplotlib)")
    train.add_argument("--sample-every", type=_non_negative, default=500,
                       help="print a sample every N steps (0: never)")
    train.add_argument("--temperature", type=float, default=0.8)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=train_char_command)

    sample = commands.add_parser("sample", help="print text sampled from a saved model")
    sample.add_argument("--load", required=True, help="weights written by train-char --save")
    sample.add_argument("--length", type=_positive, default=300)
    sample.add_argument("--temperature", type=float, default=0.8)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--prime", help="text to start from")
    sample.set_defaults(run=sample_command)

    flow = commands.add_parser(
        "gradflow", help="plot ||dL_T/dh_k|| against T - k: vanishing gradients",
        description="Unroll each model over --seq-len steps and plot, on a log scale, the norm of "
        "the gradient of the last step's loss with respect to each hidden state.",
    )
    flow.add_argument("--model", nargs="+", default=["rnn", "rnn-relu", "lstm", "gru"],
                      choices=("rnn", "rnn-relu", "lstm", "gru"))
    flow.add_argument("--seq-len", type=_positive, default=60, help="time steps T")
    flow.add_argument("--hidden", type=_positive, default=32)
    flow.add_argument("--seed", type=int, default=0)
    flow.add_argument("--out", default="gradflow.svg", help="plot file to write")
    flow.set_defaults(run=gradflow_command)
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
