"""The ``minigrad`` command line (also ``python -m minigrad``).

The only module of the minigrad folder that imports ``models`` and ``viz``; ``import minigrad``
never loads it. In every command ``--seq-len`` counts time steps and ``--steps`` training
iterations.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import cli_checks as checks
from .cli_bptt import _DefaultsHelp, add_bptt_parser
from .cli_checks import non_negative as _non_negative
from .cli_checks import positive as _positive
from .cli_checks import positive_number as _positive_number
from .files import atomic_open, check_target


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
    """Write the figure whole or not at all, in the format its suffix names."""
    suffix = out.rsplit(".", 1)[-1].lower()
    with atomic_open(out) as file:
        fig.savefig(file, format=suffix, bbox_inches="tight",
                    metadata={"Date": None} if suffix == "svg" else None)
    return out


def _progress(total: int, enabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        print("(pip install -e '.[demo]' for a progress bar)", file=sys.stderr)
        return None
    return tqdm(total=total, unit="step", disable=not enabled, dynamic_ncols=True)


PICTURES = (".svg", ".png", ".pdf")  # the suffixes every command's pictures and plots accept


def _segment_length(text: str) -> int | str:
    """--checkpoint: "sqrt" or a positive integer."""
    if text == "sqrt":
        return text
    try:
        return _positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected sqrt or a positive number of steps, got {text!r}") from None


class _Interrupted(Exception):
    """Ctrl-C arrived; raised between two training steps, so the model is whole."""


def train_char_command(args: argparse.Namespace) -> int:
    """Train a character-level model with truncated BPTT and print samples as it learns."""
    from models import char_rnn

    for target, option, suffixes in ((args.save, "--save", None), (args.plot, "--plot", PICTURES)):
        if target is not None:
            check_target(target, option, suffixes)
    text = char_rnn.read_text(args.text) if args.text is not None else char_rnn.default_corpus()
    plt = _require_matplotlib("--plot") if args.plot is not None else None
    vocab = "".join(sorted(set(text)))
    per_stream = char_rnn.stream_length(len(text), args.batch)
    if per_stream < 1:
        raise ValueError(f"the text ({len(text)} characters) is too short for --batch {args.batch}")
    chunk = min(args.seq_len, per_stream)
    parameters = char_rnn.parameter_count(args.model, len(vocab), args.hidden)
    checks.check_memory(
        checks.train_bytes(parameters, chunk, args.batch, len(vocab), args.hidden,
                           len(char_rnn.GATES[args.model])),
        {"--hidden": args.hidden, "--batch": args.batch, "--seq-len": args.seq_len})
    if args.hidden > char_rnn.MAX_HIDDEN:
        raise ValueError(f"--hidden {args.hidden} is over {char_rnn.MAX_HIDDEN}, the largest a "
                         "checkpoint may hold")
    model = char_rnn.CharModel(vocab, args.model, args.hidden, args.seed)
    print(_banner(args, len(text), len(vocab), per_stream, char_rnn.SGD_MOMENTUM))
    started = time.perf_counter()
    step_memory: list[int] = []
    losses, interrupted = _train(model, text, args, step_memory)
    seconds = time.perf_counter() - started
    written = []
    if args.save is not None:
        model.save(args.save)
        written.append(f"saved {args.save}")
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(np.arange(1, len(losses) + 1), losses, lw=0.8)
        ax.set(xlabel="training step", ylabel="loss per character (nats)",
               title=f"char-{args.model}: truncated BPTT, chunks of {chunk}")
        written.append(f"wrote {_save_figure(fig, args.plot)}")
    if interrupted:
        print("; ".join([f"interrupted at step {len(losses)}", *written]), file=sys.stderr)
        return 130
    print("\n".join(written + [f"{len(losses)} steps in {seconds:.1f} s "
                                f"({len(losses) / seconds:.1f} steps/s)",
                                _memory_summary(step_memory, args.checkpoint),
                                _loss_summary(losses)]))
    return 0


def _memory_summary(step_memory: list[int], checkpoint: Any) -> str:
    """The first step's traced peak and the process's peak resident memory."""
    how = "no checkpointing" if checkpoint is None else f"--checkpoint {checkpoint}"
    parts = [f"peak memory: {step_memory[0] / 1e6:.2f} MB in one training step "
             f"(tracemalloc, step 1, {how})"] if step_memory else ["peak memory:"]
    try:
        import resource  # Unix only
    except ImportError:
        return parts[0]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss *= 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return f"{parts[0]}; {rss / 1e6:.0f} MB peak resident for the whole process"


def _banner(args: argparse.Namespace, characters: int, vocab: int, per_stream: int,
            momentum: float) -> str:
    """What is about to be trained, with the characters each step really reads."""
    chunk = f"{args.batch} x {_count(min(args.seq_len, per_stream), 'character')}"
    if args.seq_len > per_stream:
        chunk += (f" (--seq-len {args.seq_len} exceeds the {_count(per_stream, 'character')} "
                  f"of each of the {_count(args.batch, 'stream')})")
    optimizer = "Adam" if args.optimizer == "adam" else f"SGD with momentum {momentum}"
    return (f"{args.model}: {characters:,} characters, vocabulary {vocab}, hidden {args.hidden}, "
            f"{_count(args.steps, 'step')} of {chunk}; {optimizer}, lr {args.lr:g}, "
            f"clip {args.clip:g}")


def _count(number: int, noun: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _loss_summary(losses: list[float]) -> str:
    """``loss A -> B``: the mean of the first and of the last 50 steps, or of halves if fewer."""
    if len(losses) == 1:
        return f"loss {losses[0]:.4g} -> {losses[0]:.4g} (a single step)"
    window = min(50, len(losses) // 2)
    note = f"mean of the first and last {_count(window, 'step')}"
    if window < 50:
        note += f": only {len(losses)} steps ran"
    return f"loss {np.mean(losses[:window]):.4g} -> {np.mean(losses[-window:]):.4g} ({note})"


def _train(model: Any, text: str, args: argparse.Namespace,
           step_memory: list[int]) -> tuple[list[float], bool]:
    """Run ``char_rnn.train`` with a progress bar and samples; the losses, and whether Ctrl-C
    stopped it (after a whole step: the first Ctrl-C is noted, a second one stops at once)."""
    from models import char_rnn

    losses: list[float] = []
    pressed: list[bool] = []
    bar = _progress(args.steps, not args.quiet)

    def note(signum: int, frame: Any) -> None:
        pressed.append(True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def on_step(step: int, loss: float) -> None:
        if not np.isfinite(loss):  # diverged: its weights would make a useless checkpoint
            raise ValueError(f"the loss became {loss} at step {step}; lower --lr (or --clip). "
                             "Nothing was saved")
        losses.append(loss)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
        elif step % 100 == 0 and not args.quiet:
            print(f"step {step}: loss {loss:.3f}", flush=True)
        if args.sample_every and step % args.sample_every == 0:
            sample = model.sample(120, args.temperature, seed=step)
            (bar.write if bar is not None else print)(f"--- step {step} ---\n{sample}")
        if pressed:
            raise _Interrupted

    # signal handlers can only be set in the main thread; elsewhere Ctrl-C is not ours to catch
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, note) if main else None
    try:  # numpy's overflow warnings are noise: a diverging loss is reported by on_step
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            char_rnn.train(model, text, args.steps, args.seq_len, args.batch, args.lr,
                           args.clip, args.optimizer, on_step, args.checkpoint, step_memory)
    except _Interrupted:
        return losses, True
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    return losses, False


def sample_command(args: argparse.Namespace) -> int:
    """Print text sampled from a checkpoint written by train-char --save."""
    from models import char_rnn

    model = char_rnn.CharModel.load(args.load)
    unknown = sorted(set(args.prime or "") - set(model.vocab))
    if unknown:
        raise ValueError(f"--prime has characters the model never saw: {''.join(unknown)!r}")
    print(model.sample(args.length, args.temperature, args.seed, args.prime))
    return 0


def gradflow_command(args: argparse.Namespace) -> int:
    """Plot ||dL_T/dh_k|| against T - k for each model: vanishing gradients, measured."""
    from models.gradflow import hidden_grad_norms

    check_target(args.out, "--out", PICTURES)
    gates = {"rnn": 1, "rnn-relu": 1, "lstm": 4, "gru": 3}
    needed = max(checks.gradflow_bytes(args.seq_len, args.hidden, gates[m]) for m in args.model)
    checks.check_memory(needed, {"--hidden": args.hidden, "--seq-len": args.seq_len})
    plt = _require_matplotlib("gradflow")
    fig, ax = plt.subplots(figsize=(6, 3.8))
    distances = np.arange(args.seq_len)
    shown = sorted({d for d in (0, 10, 25, args.seq_len - 1) if d < args.seq_len})
    print(f"{'model':<10}" + "".join(f"{'T-k=' + str(d):>12}" for d in shown))
    for name in args.model:
        norms = hidden_grad_norms(name, args.seq_len, args.hidden, seed=args.seed)[::-1]
        ax.semilogy(distances, norms, label=name)
        print(f"{name:<10}" + "".join(f"{norms[d]:>12.3g}" for d in shown))
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

    add_bptt_parser(commands)
    defaults = _DefaultsHelp  # every --help shows the defaults

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
    train.add_argument("--lr", type=_positive_number, default=3e-3, help="learning rate")
    train.add_argument("--optimizer", default="adam", choices=("adam", "sgd"), help="optimizer")
    train.add_argument("--clip", type=_positive_number, default=5.0, help="max gradient norm")
    train.add_argument("--seed", type=_non_negative, default=0, help="random seed")
    train.add_argument("--text", help="UTF-8 text file to learn (default: the project's sources)")
    train.add_argument("--save", help="write the trained weights here (np.savez)")
    train.add_argument("--plot", help="write the loss curve here (.svg, .png or .pdf; needs "
                       "matplotlib)")
    train.add_argument("--sample-every", type=_non_negative, default=500,
                       help="print a sample every N steps (0: never)")
    train.add_argument("--temperature", type=_positive_number, default=0.8,
                       help="sampling temperature (lower: more predictable)")
    train.add_argument("--checkpoint", type=_segment_length, default=None,
                       help="recompute each chunk's graph in backward, in segments of k steps "
                       "(an integer, or sqrt for ceil(sqrt(--seq-len))): same training, less "
                       "memory (default: store the whole chunk's graph)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=train_char_command)

    sample = commands.add_parser(
        "sample", formatter_class=defaults, help="print text sampled from a saved model",
        description="Load weights written by train-char --save and print text sampled from the "
        "model, one character at a time.",
    )
    sample.add_argument("--load", required=True, help="weights written by train-char --save")
    sample.add_argument("--length", type=_positive, default=300, help="characters to print")
    sample.add_argument("--temperature", type=_positive_number, default=0.8,
                        help="sampling temperature (lower: more predictable)")
    sample.add_argument("--seed", type=_non_negative, default=0, help="random seed")
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
    flow.add_argument("--seed", type=_non_negative, default=0, help="random seed")
    flow.add_argument("--out", default="gradflow.svg",
                      help="plot file to write: .svg, .png or .pdf")
    flow.set_defaults(run=gradflow_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, RuntimeError, OSError, MemoryError) as err:
        # one line, never a traceback: the messages name the options and files involved
        print(f"minigrad {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"minigrad {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
