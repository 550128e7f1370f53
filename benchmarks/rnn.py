"""Time forward + backward of the notes' RNN in minigrad against the closed-form BPTT in numpy.

Both sides get the same weights and inputs: a tanh RNN with output size O = D, f_y identity and
cross-entropy summed over steps and rows. The minigrad side is what users run (``RNN`` unrolled by
its own ``forward``, ``rnn.loss``, ``backward()``); the other side is ``models.bptt.bptt``. They
run in one process, taking turns; the table shows medians and the ratio minigrad / closed form
next to the target of issue 6. Before timing a configuration, its gradients are compared once, so
a wrong engine is never timed. Each configuration runs in a fresh process: the C allocator keeps
state between configurations (glibc raises its mmap and trim thresholds after large frees), which
otherwise changes the time of a configuration by up to 1.5x depending on what ran before it.

    python benchmarks/rnn.py                 # the full table
    python benchmarks/rnn.py --quick         # fewer repeats, a shorter "long" (under 30 s)
    python benchmarks/rnn.py --only tiny     # one configuration
    python benchmarks/rnn.py --profile long  # cProfile of the minigrad side, sorted by tottime
    python benchmarks/rnn.py --threads 2     # BLAS threads (default 1)
    python benchmarks/rnn.py --libc-defaults # glibc's moving heap thresholds (_harness.STEADY_HEAP)
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
import cProfile  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import Callable  # noqa: E402

from _problem import CONFIGS, Problem  # noqa: E402

DTYPES = {"tiny": ("float64", "float32"), "medium": ("float64", "float32"),
          "large": ("float64", "float32"), "long": ("float64",)}
TARGETS = {  # issue 6: the highest acceptable ratio minigrad / closed form
    ("tiny", "float64"): 2.0, ("tiny", "float32"): 2.0,
    ("medium", "float64"): 1.2, ("medium", "float32"): 1.3,
    ("large", "float64"): 1.15, ("large", "float32"): 1.2,
    ("long", "float64"): 2.0,
}
LINEAR_RANGE = (8.0, 12.0)  # time(T) / time(T / 10) for the long configuration
# Largest acceptable norm-wise relative gradient error per parameter, by dtype.
TOLERANCE = {"float64": 1e-9, "float32": 1e-3}


def label(name: str, shape: tuple[int, ...]) -> str:
    return f"{name} {shape}"


def measure(name: str, shape: tuple[int, ...], dtype: str, repeats: int,
            sample_seconds: float) -> dict:
    """Check the gradients, then time both sides (in this process; see `measure_fresh`)."""
    problem = Problem(*shape, dtype)
    error, worst, wrong_dtype = problem.gradient_check()
    if not error <= TOLERANCE[dtype]:
        sys.exit(
            f"{label(name, shape)} {dtype}: minigrad and the closed form disagree (relative error "
            f"{error:.2e} in {worst}, tolerance {TOLERANCE[dtype]:.0e}); not timing a wrong result"
        )
    medians = _harness.median_times(
        {"minigrad": problem.minigrad, "closed": problem.closed_form}, repeats, sample_seconds
    )
    return {"name": name, "shape": shape, "dtype": dtype, "error": error, "worst": worst,
            "wrong_dtype": wrong_dtype, **medians}


def measure_fresh(name: str, steps: int, dtype: str, repeats: int,
                  sample_seconds: float) -> dict:
    """`measure` in a fresh process, so that no earlier configuration shapes the allocator."""
    command = [sys.executable, os.path.abspath(__file__), "--threads", str(THREADS),
               "--worker", json.dumps([name, steps, dtype, repeats, sample_seconds])]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr.strip() or f"the worker for {name} {dtype} failed")
    result = json.loads(done.stdout.splitlines()[-1])
    result["shape"] = tuple(result["shape"])
    return result


def table_row(result: dict) -> list[str]:
    ratio = result["minigrad"] / result["closed"]
    target = TARGETS.get((result["name"], result["dtype"]))
    if target is None or result["shape"][3] != CONFIGS[result["name"]][3]:
        target_text, verdict = "-", "-"
    else:
        target_text, verdict = f"<= {target}", "yes" if ratio <= target else "NO"
    error = f"{result['error']:.1e} ({result['worst']})"
    if result["wrong_dtype"]:
        error += " grads " + ",".join(result["wrong_dtype"])
    return [label(result["name"], result["shape"]), result["dtype"],
            _harness.seconds(result["minigrad"]), _harness.seconds(result["closed"]),
            f"{ratio:.2f}", target_text, verdict, error]


def run_table(names: list[str], quick: bool, repeats: int | None) -> None:
    long_steps = CONFIGS["long"][3] // (5 if quick else 1)  # --quick: T = 2,000 (and 200)
    rows, results = [], {}
    for name in names:
        plan = [(CONFIGS[name][3], dtype) for dtype in DTYPES[name]]
        if name == "long":
            plan = [(long_steps, "float64"), (long_steps // 10, "float64")]
        for steps, dtype in plan:
            n = repeats or ((3 if quick else 5) if name == "long" else (5 if quick else 15))
            result = measure_fresh(name, steps, dtype, n, 0.02 if quick else 0.05)
            results[(name, steps)] = result
            rows.append(table_row(result))
            print("  measured", rows[-1][0], dtype, file=sys.stderr, flush=True)
    print(_harness.format_table(
        ["config (B, D, H, T)", "dtype", "minigrad", "closed form", "ratio", "target", "met",
         "grad rel. error (worst)"], rows))
    if "long" in names:
        full, tenth = results[("long", long_steps)], results[("long", long_steps // 10)]
        lo, hi = LINEAR_RANGE
        scale = full["minigrad"] / tenth["minigrad"]
        verdict = "yes" if lo <= scale <= hi else "NO"
        print(f"\nlinear in T: minigrad T={long_steps} / T={long_steps // 10} = {scale:.2f}x "
              f"(target {lo:g}x-{hi:g}x: {verdict}); "
              f"closed form {full['closed'] / tenth['closed']:.2f}x")


def profile(name: str, top: int) -> None:
    """cProfile of the minigrad side alone (float64), sorted by own time (tottime)."""
    problem = Problem(*CONFIGS[name], "float64")
    problem.minigrad()  # warm-up
    calls = max(1, round(2000 / CONFIGS[name][3]))  # about 2,000 steps in all
    profiler = cProfile.Profile()
    profiler.runcall(_repeat, problem.minigrad, calls)
    print(f"cProfile of {calls} minigrad forward+backward run(s) of {label(name, CONFIGS[name])}")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def _repeat(fn: Callable[[], object], n: int) -> None:
    for _ in range(n):
        fn()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and long with T = 2,000 (under 30 s)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--only", choices=list(CONFIGS), action="append",
                        help="run only this configuration (may repeat)")
    parser.add_argument("--repeats", type=int, help="timed samples per side and configuration")
    parser.add_argument("--profile", choices=list(CONFIGS),
                        help="profile the minigrad side of one configuration instead of timing")
    parser.add_argument("--top", type=int, default=15, help="lines of the profile to print")
    parser.add_argument("--libc-defaults", action="store_true",
                        help="time with glibc's moving heap thresholds (see _harness.STEADY_HEAP)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # [name, T, dtype, repeats, sample]
    args = parser.parse_args()
    if args.worker:
        name, steps, dtype, repeats, sample_seconds = json.loads(args.worker)
        B, D, H, _ = CONFIGS[name]
        print(json.dumps(measure(name, (B, D, H, steps), dtype, repeats, sample_seconds)))
        return
    _harness.steady_heap(args.libc_defaults)  # for the workers, which each configuration runs in
    print(_harness.header(
        "minigrad vs closed-form BPTT: tanh RNN, O = D, cross-entropy summed over steps and rows",
        THREADS))
    print()
    if args.profile:
        profile(args.profile, args.top)
    else:
        run_table(args.only or list(CONFIGS), args.quick, args.repeats)


if __name__ == "__main__":
    main()
