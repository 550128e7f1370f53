"""``minigrad bptt``: unroll the notes' RNN, compare backward() with the closed form, draw it.

Part of the command line (``minigrad.cli``); imports ``models`` and ``viz`` only when it runs.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from . import cli_checks as checks
from .cli_checks import non_negative as _non_negative
from .cli_checks import positive as _positive
from .cli_checks import positive_number as _positive_number
from .files import check_target

PARAMETERS = ("U", "V", "W", "b_h", "b_y", "h_0")


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
    """Refuse, before any work, option combinations that make no sense, an --out or --html that
    cannot be written, a --dpi for a vector file, or sizes that cannot fit in memory."""
    from viz.render import FORMATS, output_format

    check_target(args.out, "--out", FORMATS)
    if args.html:
        check_target(args.html, "--html", (".html",))
    if args.dpi is not None and output_format(args.out, "--out") != "png":
        raise ValueError(f"--dpi sets the resolution of a .png --out; {args.out} is a vector "
                         "picture that scales without it")
    sizes = {"--hidden": args.hidden, "--seq-len": args.seq_len, "--batch": args.batch,
             "--input": args.input, "--output": args.output}
    checks.check_memory(checks.bptt_bytes(args.seq_len, args.batch, args.input, args.hidden,
                                          args.output), sizes)
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
    from models.rtrl import rtrl

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

    method = rtrl if args.method == "rtrl" else bptt  # the same sum, forward or backward in time
    closed = method(rnn.params(), xs, targets, h0.data, args.f_h, args.f_y, args.loss, t=args.step)
    closed["h_0"] = closed.pop("h0")
    reference = "numpy RTRL" if args.method == "rtrl" else "the closed-form BPTT"
    autodiff = {name: p.grad for name, p in rnn.named_parameters()} | {"h_0": h0.grad}
    print(f"RNN  T={args.seq_len}  B={args.batch}  D={args.input}  H={args.hidden}  "
          f"O={args.output}  f_h={args.f_h}  f_y={args.f_y}  loss={args.loss}")
    print(f"loss {_loss_formula(args)} = {loss.item():.6g}")
    worst = _print_comparison(autodiff, closed, args.method)
    verdict = "agree" if worst < 1e-9 else "DISAGREE"
    print(f"autodiff on the unrolled graph and {reference} {verdict} "
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


def _print_comparison(autodiff: dict, closed: dict, method: str = "bptt") -> float:
    """One row per parameter; returns the worst norm-wise relative error."""
    other = "rtrl" if method == "rtrl" else "closed form"
    print(f"{'parameter':<10}{'shape':<10}{'||dL/dp||':>14}{'relative error':>16}"
          f"{f'max |autodiff - {other}|':>32}")
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
        return viz.render(drawing, args.out, dpi=args.dpi)
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


def add_bptt_parser(commands: Any) -> None:
    """The ``bptt`` subcommand and its options."""
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
    bptt.add_argument("--method", default="bptt", choices=("bptt", "rtrl"),
                      help="the reference beside autodiff: the closed-form BPTT (backward in "
                      "time) or RTRL (models.rtrl: the same sum carried forward in time)")
    bptt.add_argument("--seed", type=_non_negative, default=0, help="random seed")
    bptt.add_argument("--out", default="rnn-bptt.svg", help="picture to write: .svg, .png or .pdf")
    bptt.add_argument("--dpi", type=_positive_number, default=None,
                      help="resolution of a .png --out, for slides (default: Graphviz's 96)")
    bptt.add_argument("--html", metavar="PAGE",
                      help="also write a page that steps through backward() node by node")
    bptt.set_defaults(run=bptt_command)
