"""Time viz.draw + viz.render for an unrolled RNN of T = 4, 50, 200 and 1,000 (folded) steps.

    python benchmarks/render.py [--repeat N]     # one table row per case

Each case builds the RNN (hidden size 3, batch 1) and its loss, runs
backward(retain_graph=True, record=True), then times ``drawing = viz.draw(loss, ...)`` (view
graph + DOT) and ``viz.render(drawing, path)`` (dot with its timeout, SVG written atomically);
their total (wall clock) is compared with the target. Wall time grows when other work shares
the machine, so dot's own CPU time is shown too, with the load average in the header.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import viz  # noqa: E402
from models import RNN  # noqa: E402

# (T, draw options, target seconds for draw + render)
CASES = [
    (4, {"grads": True}, 1.0),
    (50, {"grads": True}, 2.0),
    (200, {"grads": True, "max_nodes": 10_000}, 5.0),
    (1000, {"grads": True, "fold": 3}, 2.0),
]


def rnn_loss(T: int, hidden: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    rnn = RNN(2, hidden, 2, f_h="tanh", seed=seed)
    xs, targets = rng.normal(size=(T, 1, 2)), rng.normal(size=(T, 1, 2))
    ys, _ = rnn(xs)
    loss = rnn.loss(ys, targets, "squared_error")
    loss.backward(retain_graph=True, record=True)
    return loss


def measure(T: int, options: dict, folder: str, repeat: int) -> dict:
    """Median seconds of draw (view graph + DOT) and of rendering that drawing to a file."""
    loss = rnn_loss(T)
    draws, renders, dot_cpu = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        drawing = viz.draw(loss, **options)
        drawn = time.perf_counter()
        before = _children_cpu()
        viz.render(drawing, os.path.join(folder, f"rnn-{T}.svg"))
        draws.append(drawn - start)
        renders.append(time.perf_counter() - drawn)
        dot_cpu.append(_children_cpu() - before)
    view = drawing.view_graph
    return {
        "nodes": len(view.nodes),
        "shared": view.shared,
        "draw": statistics.median(draws),
        "render": statistics.median(renders),
        "dot_cpu": statistics.median(dot_cpu),
    }


def _children_cpu() -> float:
    """CPU seconds used so far by finished child processes (dot): unlike wall time, this does
    not grow when other work shares the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def header() -> str:
    dot = viz.find_dot()
    version = subprocess.run([dot, "-V"], capture_output=True, text=True).stderr.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"# {datetime.datetime.now().isoformat(timespec='seconds')}  {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load}\n# {version} ({dot})\n"
        f"# python {platform.python_version()} {' '.join(sys.argv)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median shown)")
    repeat = parser.parse_args().repeat
    print(header())
    print(
        f"{'T':>5} {'options':<34} {'nodes':>6} {'shared':>9} {'draw s':>7} "
        f"{'render s':>9} {'dot cpu s':>9} {'total s':>8} {'target s':>9}  ok"
    )
    with tempfile.TemporaryDirectory() as folder:
        for T, options, target in CASES:
            r = measure(T, options, folder, repeat)
            total = r["draw"] + r["render"]
            shown = ", ".join(f"{k}={v}" for k, v in options.items())
            print(
                f"{T:>5} {shown:<34} {r['nodes']:>6} {r['shared']:>9} {r['draw']:>7.2f} "
                f"{r['render']:>9.2f} {r['dot_cpu']:>9.2f} {total:>8.2f} {target:>9.1f}  "
                f"{'yes' if total <= target else 'NO'}",
                flush=True,
            )


if __name__ == "__main__":
    main()
