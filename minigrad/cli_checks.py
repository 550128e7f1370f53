"""What the ``minigrad`` command checks before it does any work: numbers as they are parsed, and
sizes against the memory there is (estimated from the settings alone, never by trying).

Plain arithmetic on the settings; like the rest of the engine it imports neither models nor viz.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

FLOAT = 8  # bytes per float64, the dtype every command computes in


def whole(text: str, low: int) -> int:
    """``text`` as a whole number of at least ``low``, or argparse's usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {low} or more, got {text}")
    return value


def positive(text: str) -> int:
    """A count: 1, 2, 3, ..."""
    return whole(text, 1)


def non_negative(text: str) -> int:
    """A count that may be 0, or a seed."""
    return whole(text, 0)


def positive_number(text: str) -> float:
    """A finite number > 0 (a learning rate, a gradient norm, a temperature, a dpi)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def available_memory() -> int | None:
    """Bytes this process may still allocate: the smaller of the system's available memory
    and the container's limit (cgroup v2 or v1); None where neither can be read."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        pass
    for path, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                       ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                        "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = int(Path(path).read_text().strip())
            limits.append(limit - int(Path(used).read_text().strip()))
        except (OSError, ValueError):  # "max" (no limit), or no such controller
            continue
    if not limits and hasattr(os, "sysconf"):
        try:
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    return min(limits) if limits else None


def human(size: float) -> str:
    """Bytes as ``12.3 GB`` (powers of 1000, as free and df -H print them)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.3g} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def check_memory(needed: int, settings: dict[str, int]) -> None:
    """Refuse up front when the estimate ``needed`` exceeds the memory available, naming the
    options (``{"--hidden": 100000, ...}``) it was estimated from."""
    available = available_memory()
    if available is not None and needed > available:
        named = ", ".join(f"{option} {value}" for option, value in settings.items())
        raise MemoryError(f"{named} need about {human(needed)} of memory, more than the "
                          f"{human(available)} available; choose smaller sizes")


def bptt_bytes(T: int, B: int, D: int, H: int, O: int) -> int:
    """Peak memory of ``minigrad bptt``: the parameters with their gradients and the closed
    form's copies (about 6 P), every step's activations and gradients kept for the drawing
    (about 12 floats per (B, H + D + O) row per step), and each step's node objects."""
    parameters = H * H + H * D + O * H + H + O
    return FLOAT * (6 * parameters + 12 * T * B * (H + D + O)) + 20_000 * T


def train_bytes(parameters: int, T: int, B: int, V: int, H: int, gates: int) -> int:
    """Peak memory of one training step: parameters, gradients and Adam's two moments (about
    7 P), and a chunk's one-hot inputs, gate activations and their gradients."""
    return FLOAT * (7 * parameters + 10 * T * B * (V + gates * H)) + 20_000 * T


def gradflow_bytes(T: int, H: int, gates: int, inputs: int = 8) -> int:
    """Peak memory of one model in ``minigrad gradflow`` (batch 1, ``inputs`` features)."""
    parameters = gates * (H * H + H * inputs + H) + inputs * H + inputs
    return FLOAT * (12 * parameters + 100 * T * (H + inputs)) + 20_000 * T
