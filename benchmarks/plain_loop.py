"""Time per step of an RNN unrolled by a plain user loop of primitive ops, at T = 1,000 and 10,000.

No ``models.RNN``, no context manager: the loop a learner writes, with Python's garbage collector
as the user runs it (on, default thresholds). The graph engine must cost the same per node at both
lengths: the target is time(T=10,000) / time(T=1,000) <= 11 for the forward pass (graph building)
and for backward. The table also counts the collector's runs per generation during each pass
(a full collection, generation 2, walks every node of the graph). Each run is a fresh process
(after a short warm-up run), so every length starts from the same state: in one process a short
run would reuse the pages a long one freed, and a long one would pay for faulting in new ones.

    python benchmarks/plain_loop.py            # T in 1000, 2000, 5000, 10000; 5 repeats
    python benchmarks/plain_loop.py --quick    # T in 1000, 10000; 3 repeats
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
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402

B, D, H = 1, 8, 32  # the long configuration's sizes
TARGET = 11.0


def build(xs: np.ndarray, V: mg.Tensor, W: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
    """h_t = tanh(x_t V^T + h_{t-1} W^T + b), L = sum_t sum h_t^2: a loop as a learner writes it."""
    h = mg.Tensor(np.zeros((B, H)))
    loss = None
    for x in xs:
        h = (mg.Tensor(x) @ V.T + h @ W.T + b).tanh()
        step_loss = (h * h).sum()
        loss = step_loss if loss is None else loss + step_loss
    return loss


class CollectionCounter:
    """Counts the garbage collector's runs per generation (a gc callback)."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.counts[info["generation"]] += 1


def one_run(steps: int, counter: CollectionCounter) -> tuple[float, float, list, list]:
    rng = np.random.default_rng(0)
    V = mg.Tensor(rng.uniform(-0.3, 0.3, (H, D)), requires_grad=True)
    W = mg.Tensor(rng.uniform(-0.3, 0.3, (H, H)), requires_grad=True)
    b = mg.Tensor(np.zeros(H), requires_grad=True)
    xs = rng.standard_normal((steps, B, D))
    gc.collect()
    counter.counts = [0, 0, 0]
    start = time.perf_counter()
    loss = build(xs, V, W, b)
    built = time.perf_counter()
    forward_counts, counter.counts = counter.counts, [0, 0, 0]
    loss.backward()
    done = time.perf_counter()
    return built - start, done - built, forward_counts, counter.counts


def child(steps: int) -> None:
    """In this fresh process: a warm-up, then one timed run; printed as JSON."""
    counter = CollectionCounter()
    gc.callbacks.append(counter)
    one_run(100, counter)  # imports, caches, first allocations
    print(json.dumps(one_run(steps, counter)))


def measure(steps: int) -> tuple:
    command = [sys.executable, os.path.abspath(__file__), "--child", str(steps),
               "--threads", str(THREADS)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return tuple(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T in 1000 and 10000, 3 repeats")
    parser.add_argument("--repeats", type=int, help="runs per T; the median is shown")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    lengths = [1000, 10000] if args.quick else [1000, 2000, 5000, 10000]
    repeats = args.repeats or (3 if args.quick else 5)
    print(_harness.header("minigrad: a plain-loop RNN, time per step against T", THREADS))
    times: dict[int, list] = {T: [] for T in lengths}
    for r in range(repeats):  # the lengths take turns, so a slow patch of the machine hits all
        for T in lengths if r % 2 == 0 else reversed(lengths):
            times[T].append(measure(T))
    rows, medians = [], {}
    for T in lengths:
        forward = statistics.median(run[0] for run in times[T])
        backward = statistics.median(run[1] for run in times[T])
        medians[T] = (forward, backward)
        fc, bc = times[T][-1][2], times[T][-1][3]
        rows.append([f"{T:,}", _harness.seconds(forward), f"{forward / T * 1e6:.1f}",
                     _harness.seconds(backward), f"{backward / T * 1e6:.1f}",
                     "/".join(map(str, fc)), "/".join(map(str, bc))])
    print(f"\n(B, D, H) = {(B, D, H)}, float64, median of {repeats} runs, each in a fresh "
          f"process; gc on, thresholds {gc.get_threshold()}")
    print(_harness.format_table(
        ["T", "forward", "forward us/step", "backward", "backward us/step",
         "gc runs gen0/1/2 (forward)", "gc runs gen0/1/2 (backward)"], rows))
    low, high = min(lengths), max(lengths)
    for i, part in enumerate(("forward", "backward")):
        ratio = medians[high][i] / medians[low][i]
        verdict = "yes" if ratio <= TARGET * high / low / 10 else "NO"
        print(f"{part}: time(T={high:,}) / time(T={low:,}) = {ratio:.1f} "
              f"(target <= {TARGET * high / low / 10:g}): {verdict}")


if __name__ == "__main__":
    main()
