"""What the benchmark scripts share: BLAS thread pinning, a machine header, alternating timing.

`pin_threads` must run before numpy is first imported (OpenBLAS and MKL read their thread count
from the environment when they load), so each script calls it at the top, before its own imports
of numpy, minigrad or models.
"""

from __future__ import annotations

import ctypes
import datetime
import gc
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# glibc moves two thresholds while a program runs: once a large block is freed, blocks up to its
# size come from the heap, and the heap's free top is given back to the system when it outgrows
# twice that size. Whether a backward pass leaves the graph's freed memory at the top (given back,
# then faulted in again page by page by the next forward pass) then depends on which array
# happened to be allocated last: on the medium configuration, 2,500 page faults per forward pass
# and 1.5x the time, or none, after changes that leave every array operation as it was. Timing
# workers run with both thresholds fixed, so that they measure the engine, not that coin flip.
STEADY_HEAP = {"MALLOC_TRIM_THRESHOLD_": str(256 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


def steady_heap(libc_defaults: bool) -> None:
    """Give the worker processes started from now on a steady heap (see STEADY_HEAP), unless
    ``libc_defaults`` or the caller set MALLOC_* variables of their own (the header shows them)."""
    if not libc_defaults and not any(k.startswith("MALLOC_") for k in os.environ):
        os.environ.update(STEADY_HEAP)


def threads_from_argv(default: int = 1) -> int:
    """The value of ``--threads N`` (or ``--threads=N``) in sys.argv, read before argparse runs."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--threads" and i + 1 < len(args):
            return int(args[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


def pin_threads(n: int) -> None:
    """Ask every BLAS numpy may load for ``n`` threads. Call before the first ``import numpy``."""
    if "numpy" in sys.modules:
        raise RuntimeError("pin_threads must run before numpy is imported")
    for name in THREAD_VARIABLES:
        os.environ[name] = str(n)


def _threadpoolctl_report(n: int) -> str | None:
    try:
        import threadpoolctl
    except ImportError:
        return None
    threadpoolctl.threadpool_limits(limits=n)
    pools = threadpoolctl.threadpool_info()
    return "threadpoolctl: " + ", ".join(
        f"{p['internal_api']} {p.get('version', '?')} {p['num_threads']} thread(s)" for p in pools
    )


def _openblas_report() -> str | None:
    """Ask the OpenBLAS that numpy loaded (found in this process's memory map) for its threads."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for symbol in ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                       "openblas_get_num_threads64_"):
            getter = getattr(lib, symbol, None)
            if getter is not None:
                getter.restype = ctypes.c_int
                return f"OpenBLAS ({os.path.basename(path)}) reports {getter()} thread(s)"
    return None


def thread_report(n: int) -> str:
    """The thread settings in effect: the variables, and the BLAS's own answer if it gives one."""
    import numpy as np  # noqa: F401  (loads the BLAS, so that it can be asked)

    env = " ".join(f"{name}={os.environ.get(name, '-')}" for name in THREAD_VARIABLES)
    probe = _threadpoolctl_report(n) or _openblas_report()
    if probe is None:
        probe = "threadpoolctl not installed and no OpenBLAS found: only the variables are known"
    return f"{env}; {probe}"


def header(title: str, threads: int) -> str:
    import numpy as np

    command = " ".join([os.path.basename(sys.executable)] + sys.argv)
    malloc = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_"))
    return "\n".join([
        title,
        f"date {datetime.date.today().isoformat()}; {platform.machine()} with "
        f"{os.cpu_count()} cores; Python {platform.python_version()}; numpy {np.__version__}",
        f"threads: {thread_report(threads)}",
        f"allocator: {malloc or 'C library defaults (no MALLOC_* variables set)'}",
        f"command: {command}",
    ])


def median_times(
    runs: dict[str, Callable[[], object]], repeats: int, sample_seconds: float = 0.02
) -> dict[str, float]:
    """Median seconds per call of each run: warm up, then ``repeats`` samples each, interleaved.

    Each sample times enough back-to-back calls to last about ``sample_seconds`` (one call if a
    call is longer), so the clock's resolution does not matter. The runs take turns, and the order
    flips every repeat, so a slow patch of the machine (or a warm cache) hits all of them alike.
    The garbage collector stays on, as users run it; a full collection before each sample starts
    them all from the same state.
    """
    calls = {}
    for name, run in runs.items():
        run()  # warm-up: imports, caches, first allocations
        start = time.perf_counter()
        run()
        once = time.perf_counter() - start
        calls[name] = max(1, math.ceil(sample_seconds / max(once, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            run, n = runs[name], calls[name]
            gc.collect()
            start = time.perf_counter()
            for _ in range(n):
                run()
            samples[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(values) for name, values in samples.items()}


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (readable as plain text too), ready to paste into the README."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def seconds(value: float) -> str:
    """A duration in s, ms or us with three significant digits (more above 1,000)."""
    unit, scale = ("s", 1.0) if value >= 1 else ("ms", 1e-3) if value >= 1e-3 else ("us", 1e-6)
    x = value / scale
    return f"{x:.{2 if x < 10 else 1 if x < 100 else 0}f} {unit}"
