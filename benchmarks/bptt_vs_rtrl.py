"""BPTT or RTRL: time and peak memory of the same gradient, computed backward or forward in time.

Both sides are plain numpy with the same inputs: ``models.bptt.bptt`` (stores the T steps'
activations, then one backward sweep: time T H^2, memory T H per batch row) and
``models.rtrl.rtrl`` (carries P_t = dh_t/dtheta, whose W block is H x H^2 per row: time T H^4,
memory H^3, nothing of the past). Peak memory is tracemalloc's peak of the call (numpy's arrays
are traced; the inputs, made before, are not counted). Each sweep's slope on log-log axes is
fitted and printed, over the whole sweep and between its two largest sizes: time and memory
against T (BPTT 1 and 1, RTRL 1 and 0) and against H at fixed T (RTRL's time tends to 4 once
H^4 dominates, its memory to 3; BPTT's matrix-vector products stay below numpy's per-call cost
at these sizes, so its time grows slower than H^2).

The same pass measures the engine's forward mode (``mg.jvp`` by double backward, one tangent)
against one forward pass of the unrolled RNN, to back the cost stated in minigrad/forward.py.

    python benchmarks/bptt_vs_rtrl.py            # the full sweeps and docs/bptt-vs-rtrl.svg
    python benchmarks/bptt_vs_rtrl.py --quick    # smaller sweeps (a few seconds), no plot
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
import io  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.files import atomic_write  # noqa: E402
from models import RNN  # noqa: E402
from models.bptt import bptt  # noqa: E402
from models.rtrl import rtrl  # noqa: E402

B, D, O = 1, 4, 4
METHODS = {"BPTT": bptt, "RTRL": rtrl}


def problem(T: int, H: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    params = {"V": rng.normal(0, 0.5, (H, D)), "W": rng.normal(0, 0.5 / np.sqrt(H), (H, H)),
              "U": rng.normal(0, 0.5, (O, H)), "b_h": rng.normal(0, 0.1, H),
              "b_y": rng.normal(0, 0.1, O)}
    return params, rng.normal(size=(T, B, D)), rng.integers(0, O, (T, B))


def measure(T: int, H: int, repeats: int) -> dict[str, tuple[float, int]]:
    """{method: (median seconds, peak bytes)}, after checking that both give the same gradient."""
    params, xs, targets = problem(T, H)
    args = (params, xs, targets, None, "tanh", "identity", "cross_entropy")
    ref, got = bptt(*args), rtrl(*args)
    for name in ref:
        error = np.linalg.norm(got[name] - ref[name]) / max(np.linalg.norm(ref[name]), 1e-300)
        if error > 1e-9:
            raise SystemExit(f"RTRL and BPTT disagree on {name} at T={T}, H={H}: {error:.3g}")
    times = _harness.median_times({m: lambda f=f: f(*args) for m, f in METHODS.items()}, repeats)
    peaks = {}
    for method, fn in METHODS.items():
        tracemalloc.start()
        fn(*args)
        peaks[method] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {m: (times[m], peaks[m]) for m in METHODS}


def slope(xs: list[int], ys: list[float]) -> float:
    """The fitted exponent p of y ~ x^p (least squares on log-log)."""
    value = float(np.polyfit(np.log(xs), np.log(ys), 1)[0])
    return 0.0 if abs(value) < 1e-9 else value  # no "-0.00" for a flat line


def sweep(label: str, sizes: list[int], fixed: int, repeats: int) -> dict:
    """Measure over T (H fixed) or over H (T fixed); print the table and the fitted slopes."""
    results = {n: measure(n, fixed, repeats) if label == "T" else measure(fixed, n, repeats)
               for n in sizes}
    other = "H" if label == "T" else "T"
    rows = [[str(n), *(f"{_harness.seconds(results[n][m][0])} / {results[n][m][1] / 1024:.0f} KiB"
                       for m in METHODS)] for n in sizes]
    print(f"\nsweep over {label} ({other} = {fixed}, B = {B}): time / peak memory")
    print(_harness.format_table([label, *METHODS], rows))
    for m in METHODS:
        times = [results[n][m][0] for n in sizes]
        peaks = [results[n][m][1] for n in sizes]
        print(f"  {m}: time ~ {label}^{slope(sizes, times):.2f} (between the two largest: "
              f"^{slope(sizes[-2:], times[-2:]):.2f}), peak memory ~ {label}^"
              f"{slope(sizes, peaks):.2f} (^{slope(sizes[-2:], peaks[-2:]):.2f})")
    return results


def jvp_cost(T: int, H: int, repeats: int) -> None:
    """One mg.jvp (one tangent, by double backward) against one forward pass of the RNN."""
    rng = np.random.default_rng(1)
    rnn = RNN(D, H, O, seed=1)
    xs, targets = rng.normal(size=(T, B, D)), rng.integers(0, O, (T, B))

    def loss(W: mg.Tensor) -> mg.Tensor:
        rnn.W = W
        ys, _ = rnn(xs)
        return rnn.loss(ys, targets, "cross_entropy")

    W, tangent = mg.Tensor(rnn.W.data.copy()), rng.normal(size=(H, H))
    times = _harness.median_times({"forward": lambda: loss(W),
                                   "jvp": lambda: mg.jvp(loss, W, tangent)}, repeats)
    print(f"\nmg.jvp through the unrolled RNN (T = {T}, H = {H}): forward "
          f"{_harness.seconds(times['forward'])}, jvp {_harness.seconds(times['jvp'])}, "
          f"ratio {times['jvp'] / times['forward']:.1f} forward passes per tangent")


def plot(by_t: dict, by_h: dict, fixed_h: int, fixed_t: int, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "minigrad"
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5))
    for col, (results, label, title) in enumerate(
            ((by_t, "T (steps)", f"H = {fixed_h}"), (by_h, "H (hidden size)", f"T = {fixed_t}"))):
        sizes = sorted(results)
        for row, (what, scale, unit) in enumerate((("time", 1e3, "ms"), ("memory", 1 / 1024,
                                                                          "KiB"))):
            ax = axes[row][col]
            for m, marker in zip(METHODS, "os"):
                ys = [results[n][m][row] * scale for n in sizes]
                ax.loglog(sizes, ys, marker=marker,
                          label=f"{m} (slope {slope(sizes, ys):.2f})")
            ax.set_xticks(sizes, [str(n) for n in sizes])  # the sizes measured, plainly
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(label)
            ax.set_ylabel(f"{'time' if row == 0 else 'peak memory'} ({unit})")
            ax.set_title(f"{what} vs {label.split()[0]}, {title}")
            ax.legend()
            ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("The same gradient: BPTT (backward in time) vs RTRL (forward in time)")
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    atomic_write(path, buffer.getvalue())
    print(f"\nwrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sweeps, no plot")
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS threads")
    parser.add_argument("--plot", default=os.path.join(os.path.dirname(HERE), "docs",
                                                       "bptt-vs-rtrl.svg"))
    args = parser.parse_args()
    print(_harness.header("BPTT vs RTRL (models.bptt, models.rtrl)", args.threads))
    repeats = 3 if args.quick else 5
    fixed_h, fixed_t = (8, 10) if args.quick else (16, 10)
    steps = [10, 20, 40, 80] if args.quick else [25, 50, 100, 200, 400, 800]
    hiddens = [8, 16, 32] if args.quick else [16, 32, 64, 96, 128]
    by_t = sweep("T", steps, fixed_h, repeats)
    by_h = sweep("H", hiddens, fixed_t, 3)
    jvp_cost(20 if args.quick else 50, fixed_h, repeats)
    if not args.quick:
        plot(by_t, by_h, fixed_h, fixed_t, args.plot)


if __name__ == "__main__":
    main()
