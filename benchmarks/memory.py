"""Memory of forward + backward on the long configuration, minigrad against the closed form.

1. Peak growth over the starting point, measured two ways: tracemalloc in this process (numpy
   reports its buffers to it, so arrays and graph nodes both count), and the peak resident set
   size (``resource.getrusage``) of a fresh process that runs the pass once.
2. 20 training iterations (forward, loss, backward, SGD step) under tracemalloc: after each
   ``backward()`` the released graph must hold nothing, so memory returns to the baseline and does
   not grow from one iteration to the next. The table shows, per iteration, the peak, the memory
   right after backward (the loss tensor still held; this includes the interpreter's free lists
   of small objects), the memory after the step and a full ``gc.collect()`` (which empties those
   lists), and how many objects only the cyclic garbage collector could free (reference cycles;
   0 means reference counting alone frees the graph).

3. What BPTT stores against T: for T in 1k, 2k, 5k, 10k, 20k, the peak memory and time of one
   forward + backward of the plain graph (k = none), of ``rnn.total_loss(..., checkpoint=k)``
   for k in sqrt, 10, 100, and of the closed form, each in a fresh process; the targets at
   T = 10,000: checkpoint="sqrt" peaks at most 2x the closed form, in at most 1.5x the time of
   the plain graph. ``--plot docs/bptt-memory.svg`` draws memory against T (log-log).

    python benchmarks/memory.py                       # long (1, 8, 32, 10000); training at T=1000
    python benchmarks/memory.py --quick               # T = 2000 for the peaks; table T 1k, 10k
    python benchmarks/memory.py --train-steps 10000   # train on the full long configuration
    python benchmarks/memory.py --plot docs/bptt-memory.svg   # the full table and its plot
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]  # this checkout's packages, then _harness

import _harness  # noqa: E402

THREADS = _harness.threads_from_argv()
_harness.pin_threads(THREADS)  # before numpy loads its BLAS

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from _problem import CONFIGS, Problem  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.files import check_target  # noqa: E402

PEAK_TARGET = 10.0  # minigrad's peak at most 10x the closed form's
CHECKPOINT_MEMORY_TARGET = 2.0  # checkpoint="sqrt": at most 2x the closed form's peak
CHECKPOINT_TIME_TARGET = 1.5  # ... in at most 1.5x the time of the plain graph, at T = 10,000
LENGTHS = (1000, 2000, 5000, 10000, 20000)
KS = ("none", "sqrt", "10", "100")
ITERATIONS = 20
GROWTH_TOLERANCE = 1024  # bytes over all iterations; one node left alive per step costs T * 100
LEARNING_RATE = 1e-4
SIDES = ("minigrad", "closed")
SCALE_SIDES = (*KS, "closed")
MB = 1e6


def long_problem(steps: int) -> Problem:
    B, D, H, _ = CONFIGS["long"]
    return Problem(B, D, H, steps)


def side_run(problem: Problem, side: str) -> Callable[[], object]:
    return problem.minigrad if side == "minigrad" else problem.closed_form


def traced_peak(run: Callable[[], object]) -> int:
    """Bytes allocated at the peak of ``run()`` above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def child(side: str, steps: int) -> None:
    """Run one pass in this (fresh) process and print the peak RSS before and after, in bytes."""
    problem = long_problem(steps)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    side_run(problem, side)()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"before": before, "after": after}))


def rss_peaks(side: str, steps: int) -> dict[str, int]:
    command = [sys.executable, os.path.abspath(__file__), "--child", side,
               "--steps", str(steps), "--threads", str(THREADS)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def peaks(steps: int) -> None:
    # The fresh processes first: on Linux a child's peak RSS starts at its parent's RSS at fork.
    rss = {side: rss_peaks(side, steps) for side in SIDES}
    problem = long_problem(steps)
    for side in SIDES:
        side_run(problem, side)()  # warm-up: first-call allocations are not the pass's own
    traced = {side: traced_peak(side_run(problem, side)) for side in SIDES}
    growth = {side: rss[side]["after"] - rss[side]["before"] for side in SIDES}
    rows = [[side, f"{traced[side] / MB:.1f}", f"{growth[side] / MB:.1f}",
             f"{rss[side]['before'] / MB:.1f}", f"{rss[side]['after'] / MB:.1f}"]
            for side in SIDES]
    ratio = traced["minigrad"] / traced["closed"]
    rows.append(["minigrad / closed", f"{ratio:.1f}x",
                 f"{growth['minigrad'] / max(growth['closed'], 1):.1f}x", "", ""])
    print(f"Peak memory of one forward + backward, {describe(steps)}:")
    print(_harness.format_table(
        ["side", "tracemalloc peak growth (MB)", "peak RSS growth (MB)",
         "peak RSS before the pass (MB)", "peak RSS after (MB)"], rows))
    verdict = "yes" if ratio <= PEAK_TARGET else "NO"
    print(f"target: minigrad's peak at most {PEAK_TARGET:g}x the closed form's (tracemalloc): "
          f"{verdict}")


def describe(steps: int) -> str:
    B, D, H, _ = CONFIGS["long"]
    return f"long (B, D, H, T) = {(B, D, H, steps)}, float64"


def training(steps: int) -> None:
    """20 SGD iterations under tracemalloc; memory relative to the baseline after a warm-up.

    The numbers go into an array made before the baseline, so that recording them allocates
    nothing that could pass for growth.
    """
    problem = long_problem(steps)
    optimizer = mg.optim.SGD(problem.parameters, lr=LEARNING_RATE)
    record = np.zeros((ITERATIONS + 1, 5))  # loss, peak, after backward, after step + gc, cyclic

    def cyclic_garbage() -> int:
        """Objects the cyclic garbage collector has freed so far in this process."""
        return sum(generation["collected"] for generation in gc.get_stats())

    def iteration(row: np.ndarray) -> None:
        freed_before = cyclic_garbage()
        tracemalloc.reset_peak()
        optimizer.zero_grad()
        loss = problem.loss()
        loss.backward()
        row[2] = tracemalloc.get_traced_memory()[0]  # the loss tensor still held
        optimizer.step()
        row[0] = loss.item()
        row[1] = tracemalloc.get_traced_memory()[1]
        del loss
        gc.collect()
        row[3] = tracemalloc.get_traced_memory()[0]
        row[4] = cyclic_garbage() - freed_before

    tracemalloc.start()
    try:
        iteration(record[0])  # warm-up: gradients and caches exist from here on, as later
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        for row in record[1:]:
            iteration(row)
    finally:
        tracemalloc.stop()
    record = record[1:]
    record[:, 1:4] -= baseline
    rows = [[str(n), f"{loss:.2f}", f"{peak / MB:.2f}", f"{after / 1024:+.1f}",
             f"{settled / 1024:+.1f}", f"{cyclic:.0f}"]
            for n, (loss, peak, after, settled, cyclic) in enumerate(record, start=1)]
    print(f"\n{ITERATIONS} training iterations (SGD, lr {LEARNING_RATE:g}), {describe(steps)}; "
          f"memory relative to the baseline after a warm-up iteration:")
    print(_harness.format_table(
        ["iteration", "loss", "peak (MB)", "after backward (KiB)", "after step + gc (KiB)",
         "objects freed only by the cyclic GC"], rows))
    settled = record[:, 3]
    growth = settled[-1] - settled[0]
    slope = np.polyfit(np.arange(ITERATIONS), settled, 1)[0]
    verdict = "grows" if growth > GROWTH_TOLERANCE else "no growth"
    print(f"after step + gc: {settled[0] / 1024:+.1f} KiB after iteration 1, "
          f"{settled[-1] / 1024:+.1f} KiB after iteration {ITERATIONS} (trend {slope:+.0f} bytes "
          f"per iteration; tolerance {GROWTH_TOLERANCE} bytes in all): {verdict}")


def scale_run(problem: Problem, side: str) -> Callable[[], object]:
    if side == "closed":
        return problem.closed_form
    if side == "none":
        return problem.minigrad
    k = side if side == "sqrt" else int(side)
    return lambda: problem.checkpointed(k)


def scale_child(side: str, steps: int) -> None:
    """In a fresh process: peak RSS growth of the first pass, tracemalloc peak of the second,
    and the median time of three more (no tracing); printed as JSON."""
    problem = long_problem(steps)
    run = scale_run(problem, side)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    run()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    traced = traced_peak(run)
    times = []
    for _ in range(3):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(json.dumps({"rss": rss, "traced": traced, "seconds": statistics.median(times)}))


def scale_measure(side: str, steps: int) -> dict[str, float]:
    command = [sys.executable, os.path.abspath(__file__), "--scale-child", side,
               "--steps", str(steps), "--threads", str(THREADS)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def scale_measure_all(lengths: tuple[int, ...]) -> dict[tuple[int, str], dict[str, float]]:
    """Every (T, side) in its own process. Run before this process grows: on Linux a child's
    peak RSS starts at its parent's RSS at fork."""
    return {(T, side): scale_measure(side, T) for T in lengths for side in SCALE_SIDES}


def scaling(results: dict, lengths: tuple[int, ...], plot: str | None) -> None:
    """The table of peak memory and time against T and k, the targets, and the plot."""
    print(f"\nWhat BPTT stores: one forward + backward, (B, D, H) = {CONFIGS['long'][:3]}, "
          f"float64, cross-entropy, each in a fresh process; "
          f"k = checkpoint segment length (rnn.total_loss), closed = models.bptt")
    for key, title in (("traced", "tracemalloc peak growth (MB)"),
                       ("rss", "peak RSS growth (MB)"), ("seconds", "time (median of 3)")):
        rows = []
        for T in lengths:
            cells = [results[T, side][key] for side in SCALE_SIDES]
            shown = [_harness.seconds(c) if key == "seconds" else f"{c / MB:.2f}" for c in cells]
            rows.append([f"{T:,}", *shown])
        print(f"\n{title}:")
        print(_harness.format_table(["T", *(f"k={k}" for k in KS), "closed"], rows))
    target_T = 10000 if 10000 in lengths else max(lengths)
    memory = results[target_T, "sqrt"]["traced"] / results[target_T, "closed"]["traced"]
    slower = results[target_T, "sqrt"]["seconds"] / results[target_T, "none"]["seconds"]
    print(f"\nT = {target_T:,}, checkpoint='sqrt': peak {memory:.2f}x the closed form's "
          f"(target <= {CHECKPOINT_MEMORY_TARGET:g}: "
          f"{'yes' if memory <= CHECKPOINT_MEMORY_TARGET else 'NO'}), time {slower:.2f}x the "
          f"plain graph's (target <= {CHECKPOINT_TIME_TARGET:g}: "
          f"{'yes' if slower <= CHECKPOINT_TIME_TARGET else 'NO'})")
    if plot:
        draw(results, lengths, plot)


def draw(results: dict, lengths: tuple[int, ...], path: str) -> None:
    """Peak memory against T, log-log, one line per k and one for the closed form."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "minigrad"
    import matplotlib.pyplot as plt

    from minigrad.files import atomic_open

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for side in SCALE_SIDES:
        label = "closed form (numpy)" if side == "closed" else (
            "plain graph" if side == "none" else f"checkpoint={side!r}")
        ax.plot(lengths, [results[T, side]["traced"] / MB for T in lengths], marker="o",
                label=label)
    first = results[lengths[0], "sqrt"]["traced"] / MB
    ax.plot(lengths, [first * (T / lengths[0]) ** 0.5 for T in lengths], "k:",
            label="slope 1/2 (sqrt T)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T (steps)")
    ax.set_ylabel("peak memory of forward + backward (MB, tracemalloc)")
    ax.set_title("What BPTT stores: (B, D, H) = (1, 8, 32)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_open(path) as file:
        fig.savefig(file, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 2000 for the peaks")
    parser.add_argument("--steps", type=int, help="T of the peak measurement (default 10000)")
    parser.add_argument("--train-steps", type=int, default=1000,
                        help="T of the training iterations (default 1000)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--plot", help="write the memory-against-T plot (SVG) to this path")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--scale-child", choices=SCALE_SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps = args.steps or (CONFIGS["long"][3] // 5 if args.quick else CONFIGS["long"][3])
    if args.child:
        child(args.child, steps)
        return
    if args.scale_child:
        scale_child(args.scale_child, steps)
        return
    if args.plot:
        check_target(args.plot, "--plot", (".svg",))
    print(_harness.header("minigrad memory: the long configuration", THREADS))
    print()
    lengths = (1000, 10000) if args.quick and not args.plot else LENGTHS
    scaled = scale_measure_all(lengths)
    peaks(steps)
    training(args.train_steps)
    scaling(scaled, lengths, args.plot)


if __name__ == "__main__":
    main()
