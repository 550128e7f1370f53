"""Run Graphviz's ``dot`` as a subprocess, on a short leash.

The ``graphviz`` package builds the DOT text but has no timeout on ``render``/``pipe``, and
``dot`` can run for minutes on an unlucky graph, so every rendering in viz (files and Jupyter)
goes through ``run_dot``: a timeout, ``dot`` killed with its parent (Linux), its output checked
before anyone uses it, and its error text cut short. The program is ``$MINIGRAD_DOT`` if set,
else ``dot`` on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

from . import errors

ENV_VAR = "MINIGRAD_DOT"
FORMAT = re.compile(r"^[a-z0-9_]+(:[a-z0-9_]+)*$")
# What the start of a well-formed file of each format looks like; other formats are not checked.
SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "jpeg": b"\xff\xd8\xff",
              "jpg": b"\xff\xd8\xff", "gif": b"GIF8"}


def find_dot() -> str:
    """The path of the ``dot`` program to run, or DotNotFoundError saying how to get one."""
    named = os.environ.get(ENV_VAR)
    if named:
        found = shutil.which(named)
        if found is None:
            raise errors.dot_not_found(
                f"{ENV_VAR}={named!r} does not name a program that can be run"
            )
        return found
    found = shutil.which("dot")
    if found is None:
        raise errors.dot_not_found("Graphviz's `dot` program was not found on PATH")
    return found


def run_dot(
    source: str,
    format: str = "svg",
    timeout: float = 30,
    nodes: int | None = None,
    options: Sequence[str] = (),
) -> bytes:
    """Lay out and render DOT ``source``; the output as bytes, checked to be a ``format`` file.

    ``dot`` runs in its own process group, so on timeout everything it started is stopped too;
    on Linux it is also killed when this process dies. ``options`` are extra ``dot`` arguments
    (like ``-Gdpi=300``); ``nodes`` only makes the timeout message more helpful.
    """
    if not FORMAT.match(format):
        raise ValueError(f"viz: format must be a Graphviz output format like 'svg', got {format!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"viz: timeout must be a positive number of seconds, got {timeout!r}")
    program = find_dot()
    command = [program, f"-T{format}", *options]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise errors.dot_not_found(f"{program} could not be started ({exc})") from exc
    try:
        out, err = process.communicate(source.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise errors.render_timeout(timeout, nodes) from None
    except BaseException:
        _stop(process)
        raise
    shown = " ".join(command[1:])
    if process.returncode != 0:
        raise errors.DotFailedError(
            f"viz: {program} {shown} failed (exit status {process.returncode}): "
            f"{errors.tail(err.decode('utf-8', 'replace'))}"
        )
    problem = _output_problem(out, format)
    if problem:
        raise errors.DotFailedError(
            f"viz: {program} {shown} exited 0 but its output is not a {format} file ({problem}); "
            f"nothing was written. {errors.tail(err.decode('utf-8', 'replace'))}".rstrip()
        )
    return out


def _output_problem(out: bytes, format: str) -> str | None:
    """Why ``out`` is not a ``format`` file, or None when it looks like one."""
    if not out:
        return "it is empty"
    if format == "svg":
        try:
            root = ET.fromstring(out)
        except ET.ParseError as error:
            return f"not XML: {error}"
        if root.tag.rsplit("}", 1)[-1] != "svg":
            return f"the XML root is <{root.tag}>, not <svg>"
        return None
    signature = SIGNATURES.get(format)
    if signature is not None and not out.startswith(signature):
        return f"it starts with {out[:8]!r}, not {signature!r}"
    return None


def _die_with_parent() -> Callable[[], None] | None:
    """For Popen's ``preexec_fn`` on Linux: ask the kernel to SIGKILL ``dot`` when we die.

    Without it a ``dot`` whose Python parent was killed runs on, for minutes on a big graph.
    Elsewhere (no prctl) None: ``dot`` then still stops at its timeout while we live.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig, kill = 1, int(signal.SIGKILL)  # PR_SET_PDEATHSIG from <linux/prctl.h>

    def leash() -> None:
        # Runs in the child between fork and exec: only the prepared prctl call and getppid.
        prctl(pr_set_pdeathsig, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the leash was on
            os._exit(1)

    return leash


def _stop(process: subprocess.Popen) -> None:
    """Kill ``dot`` and anything it started (a wrapper script's children too), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.communicate()
