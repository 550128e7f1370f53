"""Run Graphviz's ``dot`` as a subprocess, with a timeout.

The ``graphviz`` package builds the DOT text but has no timeout on ``render``/``pipe``, and
``dot`` can run for minutes on an unlucky graph, so every rendering in viz (files and Jupyter)
goes through ``run_dot``. The program is ``$MINIGRAD_DOT`` if set, else ``dot`` on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess

from . import errors

ENV_VAR = "MINIGRAD_DOT"
FORMAT = re.compile(r"^[a-z0-9_]+(:[a-z0-9_]+)*$")


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
    source: str, format: str = "svg", timeout: float = 30, nodes: int | None = None
) -> bytes:
    """Lay out and render DOT ``source``; the output as bytes.

    ``dot`` runs in its own process group, so on timeout everything it started is stopped too.
    ``nodes`` only makes the timeout message more helpful.
    """
    if not FORMAT.match(format):
        raise ValueError(f"viz: format must be a Graphviz output format like 'svg', got {format!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"viz: timeout must be a positive number of seconds, got {timeout!r}")
    program = find_dot()
    try:
        process = subprocess.Popen(
            [program, f"-T{format}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise errors.dot_not_found(f"{program} could not be started ({exc})") from exc
    try:
        out, err = process.communicate(source.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise errors.render_timeout(timeout, nodes) from None
    except BaseException:
        _stop(process)
        raise
    if process.returncode != 0:
        message = err.decode("utf-8", "replace").strip()
        raise errors.DotFailedError(
            f"viz: {program} -T{format} failed (exit status {process.returncode}): {message}"
        )
    return out


def _stop(process: subprocess.Popen) -> None:
    """Kill ``dot`` and anything it started (a wrapper script's children too), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.communicate()
