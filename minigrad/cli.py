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

PARAMETERS = ("U", "V", "W", "b_h", "b_y", "h_0")


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


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, except where there is none to show (a flag, or
    an option that is off unless given: its help says what then happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action)


def _term(text: str) -> tuple[int, int]:
    """``--term t,k``: two step numbers."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"must be two step numbers t,k like 4,2; got {text!r}")
    return int(parts[0]), int(parts[1])


def _check_bptt_options(args: argparse.Namespace) -> None:
    """Refuse option combinations before any work, naming the options."""
    T = args.seq_len
    if args.step is not None and not 1 <= args.step <= T:
        raise ValueError(f"--step must lie in 1..{T}, got {args.step}")
    if args.loss == "cross_entropy" and args.f_y == "sigmoid":
        raise ValueError("--loss cross_entropy takes softmax logits: use it with --f-y identity "
                         "or --f-y softmax, not --f-y sigmoid")
    if args.term is None:
        return
    t, k = args.term
    if args.highlight is None:
        raise ValueError("--term t,k needs --highlight P, the parameter whose term to draw")
    if not 1 <= k <= t <= T:
        raise ValueError(f"--term t,k must satisfy 1 <= k <= t <= --seq-len {T}; got {t},{k}")
    if args.step is not None and t != args.step:
        raise ValueError(f"--step {args.step} keeps only L_{args.step}: use --term {args.step},k")


def _loss_formula(args: argparse.Namespace) -> str:
    t = "t" if args.step is None else str(args.step)
    if args.loss == "squared_error":
        step = f"sum (yhat_{t} - y_{t})^2"
    elif args.f_y == "softmax":
        step = f"-log yhat_{t}[y_{t}]"
    else:
        step = f"-log softmax(z_{t})[y_{t}]"
    return f"L = sum_t {step}" if args.step is None else f"L_{t} = {step}"


def bptt_command(args: argparse.Namespace) -> int:
    """Unroll an RNN, backprop through the graph, check it against the closed form, draw it."""
    import minigrad as mg
    from models import RNN
    from models.bptt import bptt

    _check_bptt_options(args)
    rng = np.random.default_rng(args.seed)
    rnn = RNN(args.input, args.hidden, args.output, f_h=args.f_h, f_y=args.f_y, seed=args.seed)
    xs = rng.standard_normal((args.seq_len, args.batch, args.input))
    if args.loss == "squared_error":
        targets = rng.standard_normal((args.seq_len, args.batch, args.output))
    else:
        targets = rng.integers(0, args.output, size=(args.seq_len, args.batch))
    h0 = mg.Tensor(np.zeros((args.batch, args.hidden)), requires_grad=True, name="h_0")
    ys, _ = rnn(xs, h0)
    loss = rnn.loss(ys, targets, args.loss, t=args.step)
    loss.backward(retain_graph=True, record=True)

    closed = bptt(rnn.params(), xs, targets, h0.data, args.f_h, args.f_y, args.loss, t=args.step)
    closed["h_0"] = closed.pop("h0")
    autodiff = {name: p.grad for name, p in rnn.named_parameters()} | {"h_0": h0.grad}
    print(f"RNN  T={args.seq_len}  B={args.batch}  D={args.input}  H={args.hidden}  "
          f"O={args.output}  f_h={args.f_h}  f_y={args.f_y}  loss={args.loss}")
    print(f"loss {_loss_formula(args)} = {loss.item():.6g}")
    worst = _print_comparison(autodiff, closed)
    verdict = "agree" if worst < 1e-9 else "DISAGREE"
    print(f"autodiff on the unrolled graph and the closed-form BPTT {verdict} "
          f"(worst relative error {worst:.3g})")
    if args.term is not None:
        _print_term(args, rnn, loss, xs, targets)
    print(f"wrote {_draw_bptt(args, rnn, loss)}")
    if args.html:
        import viz

        highlight = getattr(rnn, args.highlight or "W")  # the page's running sum: dL/dW by default
        page = viz.html(loss, args.html, highlight=highlight, fold=args.fold,
                        max_nodes=args.max_nodes)
        print(f"wrote {page} (open it in a browser: it steps through the backward pass)")
    return 0 if worst < 1e-9 else 1


def _print_comparison(autodiff: dict, closed: dict) -> float:
    """One row per parameter; returns the worst norm-wise relative error."""
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
    return worst


def _print_term(args: argparse.Namespace, rnn: Any, loss: Any, xs: Any, targets: Any) -> None:
    """The term's norm from the unrolled graph, beside the closed form's where it has one."""
    import viz
    from models.bptt_terms import bptt_terms

    t, k = args.term
    norm = viz.term_norm(loss, (t, k), getattr(rnn, args.highlight))
    line = f"term k={k} of dL_{t}/d{args.highlight}: ||term|| = {norm:.6e}"
    if args.highlight in ("W", "V", "b_h"):
        terms = bptt_terms(rnn.params(), xs, targets, None, args.f_h, args.f_y, args.loss, t=t)
        line += f"  (closed form: {np.linalg.norm(terms[args.highlight][(t, k)]):.6e})"
    print(line)


def _draw_bptt(args: argparse.Namespace, rnn: Any, loss: Any) -> str:
    """Render the graph; too big for --max-nodes without --fold, fold it and say so."""
    import viz

    options = {
        "grads": args.grads,
        "highlight": getattr(rnn, args.highlight) if args.highlight else None,
        "max_nodes": args.max_nodes,
        "direction": "backward" if args.backward else "forward",
        "term": args.term,
    }
    try:
        drawing = viz.draw(loss, fold=args.fold, **options)
    except viz.GraphTooLargeError as error:
        nodes = error.count
        if args.fold is not None:
            raise ValueError(f"the drawing has {nodes} nodes even with --fold {args.fold}, more "
                             f"than --max-nodes {args.max_nodes}: try --fold 0 (the rolled "
                             "view) or a larger --max-nodes") from None
        drawing = _fold_to_fit(viz, loss, options, nodes, args.max_nodes)
    try:
        return viz.render(drawing, args.out)
    except viz.RenderTimeoutError:
        raise RuntimeError(f"dot did not finish drawing {len(drawing.view_graph.nodes)} nodes in "
                           "time; nothing was written. Draw fewer steps: --fold 2, --fold 0 (the "
                           "rolled view) or a smaller --seq-len") from None


def _fold_to_fit(viz: Any, loss: Any, options: dict, nodes: int, max_nodes: int) -> Any:
    """The first of --fold 2, 1, 0 whose drawing fits in --max-nodes, announced."""
    for fold in (2, 1, 0):
        try:
            drawing = viz.draw(loss, fold=fold, **options)
        except viz.GraphTooLargeError:
            continue
        kept = "the rolled view" if fold == 0 else f"the first and last {fold} steps"
        print(f"the graph has {nodes} nodes, more than --max-nodes {max_nodes}: "
              f"drawn with --fold {fold} ({kept})")
        return drawing
    raise ValueError(f"the drawing has {nodes} nodes, more than --max-nodes {max_nodes}, even "
                     "rolled up (--fold 0): raise --max-nodes")


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
    defaults = _DefaultsHelp  # every --help shows the defaults

    bptt = commands.add_parser(
        "bptt", formatter_class=defaults,
        help="unroll an RNN, compare backward() with the closed-form BPTT, draw the graph",
        description="Unroll the RNN of the notes over --seq-len time steps, run backward() on "
        "the unrolled graph, print per parameter its difference from the closed-form BPTT "
        "(models.bptt), and draw the graph in the notes' terms (x_t, V x_t, W h_{t-1}, a_t, h_t, "
        "z_t, yhat_t, y_t, L_t), each parameter W drawn once with its per-step copies W_k summed "
        "into it. --term t,k --highlight W draws one term of the sum for dL_t/dW in bold.",
    )
    bptt.add_argument("--seq-len", type=_positive, default=4, help="time steps T")
    bptt.add_argument("--hidden", type=_positive, default=3, help="hidden size H")
    bptt.add_argument("--input", type=_positive, default=2, help="input size D")
    bptt.add_argument("--output", type=_positive, default=2, help="output size O")
    bptt.add_argument("--batch", type=_positive, default=1, help="batch rows B")
    bptt.add_argument("--step", type=_positive, default=None, metavar="K",
                      help="differentiate the loss of step K alone, L_K (default: L, the sum)")
    bptt.add_argument("--f-h", default="tanh", choices=("tanh", "sigmoid", "relu", "identity"),
                      help="hidden activation f_h")
    bptt.add_argument("--f-y", default="identity", choices=("identity", "sigmoid", "softmax"),
                      help="output activation f_y")
    bptt.add_argument("--loss", default="squared_error", choices=("squared_error", "cross_entropy"),
                      help="step loss L_t: sum (yhat_t - y_t)^2, or -log softmax(z_t)[y_t] with "
                      "integer targets (with --f-y identity or softmax)")
    bptt.add_argument("--highlight", choices=("U", "V", "W", "b_h", "b_y"),
                      help="draw every path from the loss back to this parameter in bold")
    bptt.add_argument("--term", type=_term, default=None, metavar="T,K",
                      help="with --highlight P: draw in bold only the k-th term of dL_t/dP, "
                      "L_t -> yhat_t -> h_t -> ... -> h_k -> P_k, and print its norm")
    bptt.add_argument("--grads", action="store_true",
                      help="colour edges by the norm of the gradient that flowed along them")
    bptt.add_argument("--backward", action="store_true",
                      help="draw arrows the way the gradient flows, from L back to the "
                      "parameters, each labelled with its norm (with --grads)")
    bptt.add_argument("--fold", type=_non_negative, default=None, metavar="K",
                      help="draw the first and last K steps, fold the middle (0: rolled view); "
                      "without it a graph over --max-nodes is folded by itself")
    bptt.add_argument("--max-nodes", type=_positive, default=2000,
                      help="the largest drawing; a bigger graph is folded")
    bptt.add_argument("--seed", type=int, default=0, help="random seed")
    bptt.add_argument("--out", default="rnn-bptt.svg", help="SVG file to write")
    bptt.add_argument("--html", metavar="PAGE",
                      help="also write a page that steps through backward() node by node")
    bptt.set_defaults(run=bptt_command)

    train = commands.add_parser(
        "train-char", formatter_class=defaults,
        help="train a character-level RNN/LSTM/GRU with truncated BPTT",
        description="Train a character-level language model on the project's own sources "
        "(or --text FILE) with truncated BPTT, softmax cross-entropy, gradient clipping and Adam.",
    )
    train.add_argument("--model", default="rnn", choices=("rnn", "lstm", "gru"), help="the cell")
    train.add_argument("--steps", type=_positive, default=2000, help="training iterations")
    train.add_argument("--seq-len", type=_positive, default=25, help="time steps per chunk")
    train.add_argument("--batch", type=_positive, default=16, help="parallel text streams")
    train.add_argument("--hidden", type=_positive, default=64, help="hidden size")
    train.add_argument("--lr", type=float, default=3e-3, help="learning rate")
    train.add_argument("--optimizer", default="adam", choices=("adam", "sgd"), help="optimizer")
    train.add_argument("--clip", type=float, default=5.0, help="max gradient norm")
    train.add_argument("--seed", type=int, default=0, help="random seed")
    train.add_argument("--text", help="UTF-8 text file to learn (default: the project's sources)")
    train.add_argument("--save", help="write the trained weights here (np.savez)")
    train.add_argument("--plot", help="write the loss curve here (SVG/PNG; needs matplotlib)")
    train.add_argument("--sample-every", type=_non_negative, default=500,
                       help="print a sample every N steps (0: never)")
    train.add_argument("--temperature", type=float, default=0.8,
                       help="sampling temperature (lower: more predictable)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=train_char_command)

    sample = commands.add_parser(
        "sample", formatter_class=defaults, help="print text sampled from a saved model",
        description="Load weights written by train-char --save and print text sampled from the "
        "model, one character at a time.",
    )
    sample.add_argument("--load", required=True, help="weights written by train-char --save")
    sample.add_argument("--length", type=_positive, default=300, help="characters to print")
    sample.add_argument("--temperature", type=float, default=0.8,
                        help="sampling temperature (lower: more predictable)")
    sample.add_argument("--seed", type=int, default=0, help="random seed")
    sample.add_argument("--prime", help="text to start from")
    sample.set_defaults(run=sample_command)

    flow = commands.add_parser(
        "gradflow", formatter_class=defaults,
        help="plot ||dL_T/dh_k|| against T - k: vanishing gradients",
        description="Unroll each model over --seq-len steps and plot, on a log scale, the norm of "
        "the gradient of the last step's loss with respect to each hidden state.",
    )
    flow.add_argument("--model", nargs="+", default=["rnn", "rnn-relu", "lstm", "gru"],
                      choices=("rnn", "rnn-relu", "lstm", "gru"), help="the models to compare")
    flow.add_argument("--seq-len", type=_positive, default=60, help="time steps T")
    flow.add_argument("--hidden", type=_positive, default=32, help="hidden size")
    flow.add_argument("--seed", type=int, default=0, help="random seed")
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
