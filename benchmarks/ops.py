"""The cost per op of minigrad's graph bookkeeping, against the same numpy calls without a graph.

For add, mul, matmul and tanh on 1x1, 16x16 and 256x256 float64 arrays it times one op forward
plus ``backward()`` from it, and numpy doing the same arithmetic by hand: the forward op and the
products its vector-Jacobian product computes (add: none; mul: g*b, g*a; matmul: g @ b.T,
a.T @ g; tanh: g * (1 - t*t)). On 1x1 arrays the difference is almost all bookkeeping; on
256x256 the arithmetic should hide it. Then a chain of 400 tanh ops on an 8-element array:
minigrad forward + backward against the bare ``np.tanh`` forward of the same 400 ops (issue 6's
target: at most 6x).

    python benchmarks/ops.py [--repeats N] [--threads N]
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
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402

SIZES = (1, 16, 256)
CHAIN_LENGTH, CHAIN_WIDTH = 400, 8
CHAIN_TARGET = 6.0


def _numpy_add(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple:
    return a + b, g, g  # the VJP of add passes g on unchanged: nothing to compute


def _numpy_mul(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple:
    return a * b, g * b, g * a


def _numpy_matmul(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple:
    return a @ b, g @ b.T, a.T @ g


def _numpy_tanh(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple:
    t = np.tanh(a)
    return t, g * (1 - t * t)


# name: (the op on Tensors, the op on arrays, numpy forward + backward by hand)
OPS: dict[str, tuple[Callable, Callable, Callable]] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, _numpy_add),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, _numpy_mul),
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b, _numpy_matmul),
    "tanh": (lambda a, b: a.tanh(), lambda a, b: np.tanh(a), _numpy_tanh),
}


def single_op_runs(op: str, n: int, rng: np.random.Generator) -> dict[str, Callable[[], object]]:
    graph_op, array_op, by_hand = OPS[op]
    a_data, b_data = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    g = rng.standard_normal((n, n))
    a = mg.Tensor(a_data, requires_grad=True)
    b = mg.Tensor(b_data, requires_grad=op != "tanh")  # tanh has one input

    def minigrad_both() -> None:
        a.grad = b.grad = None
        graph_op(a, b).backward(g)

    return {
        "minigrad": minigrad_both,
        "numpy": lambda: by_hand(a_data, b_data, g),
        "minigrad forward": lambda: graph_op(a, b),
        "numpy forward": lambda: array_op(a_data, b_data),
    }


def chain_runs(rng: np.random.Generator) -> dict[str, Callable[[], object]]:
    x_data = rng.standard_normal(CHAIN_WIDTH)
    x = mg.Tensor(x_data, requires_grad=True)
    g = np.ones(CHAIN_WIDTH)

    def minigrad_forward() -> mg.Tensor:
        y = x
        for _ in range(CHAIN_LENGTH):
            y = y.tanh()
        return y

    def minigrad_both() -> None:
        x.grad = None
        minigrad_forward().backward(g)

    def numpy_forward() -> np.ndarray:
        y = x_data
        for _ in range(CHAIN_LENGTH):
            y = np.tanh(y)
        return y

    return {"minigrad": minigrad_both, "minigrad forward": minigrad_forward,
            "numpy forward": numpy_forward}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed samples per run")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args()
    print(_harness.header("minigrad graph bookkeeping per op (float64)", THREADS))
    print()
    rng = np.random.default_rng(0)
    rows = []
    for op in OPS:
        for n in SIZES:
            t = _harness.median_times(single_op_runs(op, n, rng), args.repeats)
            rows.append([
                op, f"{n}x{n}", _harness.seconds(t["numpy"]), _harness.seconds(t["minigrad"]),
                f"{t['minigrad'] / t['numpy']:.1f}",
                _harness.seconds(t["minigrad"] - t["numpy"]),
                _harness.seconds(t["numpy forward"]), _harness.seconds(t["minigrad forward"]),
                f"{t['minigrad forward'] / t['numpy forward']:.1f}",
            ])
    print("One op, forward + backward (numpy: the same arithmetic by hand):")
    print(_harness.format_table(
        ["op", "shape", "numpy", "minigrad", "ratio", "overhead", "numpy fwd", "minigrad fwd",
         "fwd ratio"], rows))

    t = _harness.median_times(chain_runs(rng), args.repeats)
    bare, both, forward = t["numpy forward"], t["minigrad"], t["minigrad forward"]
    ratio = both / bare
    print(f"\nChain of {CHAIN_LENGTH} tanh on {CHAIN_WIDTH} elements "
          f"(per op: np.tanh {_harness.seconds(bare / CHAIN_LENGTH)}, minigrad forward "
          f"{_harness.seconds(forward / CHAIN_LENGTH)}, forward + backward "
          f"{_harness.seconds(both / CHAIN_LENGTH)}):")
    print(_harness.format_table(
        ["measure", "time", "/ bare np.tanh forward"],
        [["bare np.tanh forward", _harness.seconds(bare), "1.0"],
         ["minigrad forward", _harness.seconds(forward), f"{forward / bare:.1f}"],
         ["minigrad forward + backward", _harness.seconds(both), f"{ratio:.1f}"]]))
    verdict = "yes" if ratio <= CHAIN_TARGET else "NO"
    print(f"target: forward + backward <= {CHAIN_TARGET:g}x the bare forward: {verdict}")


if __name__ == "__main__":
    main()
