"""`make`'s set-up writes nothing under $HOME but pip's own cache (~/.cache/pip).

The set-up runs for real (a new venv, pip installing the project and its dev extra) on a copy of
the checkout, with HOME pointed at an empty directory: a dry run (`make -n`) would not show what
the commands write. About 15 s with a fast package index.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a fresh clone does not have (the .gitignore's entries and git's own folder).
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "out", "build", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".hypothesis", ".ipynb_checkpoints",
)
# Variables that would send pip's cache, Jupyter's or IPython's files somewhere other than
# under HOME, where this test looks for them, or that tie the run to the venv running the tests.
REDIRECTS = ("XDG_", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR", "JUPYTER_", "IPYTHONDIR",
             "MPLCONFIGDIR", "PYTHONUSERBASE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
# Tools on PATH that keep their own state under HOME unless told where it is. A real user's HOME
# holds it; an empty one makes them set up afresh (pip's user agent runs `rustc --version`, and
# rustup's proxy then writes ~/.rustup/settings.toml), which is not something make wrote.
TOOL_HOMES = {"RUSTUP_HOME": "~/.rustup", "CARGO_HOME": "~/.cargo"}


def clean_env(home: Path) -> dict[str, str]:
    """The caller's environment with HOME replaced and nothing redirecting files away from it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(REDIRECTS)}
    for name, default in TOOL_HOMES.items():
        if name not in env and Path(default).expanduser().is_dir():
            env[name] = str(Path(default).expanduser())
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p != venv_bin)
    env["HOME"] = str(home)
    return env


def written_under(home: Path) -> list[str]:
    """Every path under ``home`` that is not pip's cache or a folder on the way to it."""
    allowed = {Path(".cache"), Path(".cache") / "pip"}
    found = []
    for path in home.rglob("*"):
        relative = path.relative_to(home)
        if relative not in allowed and not relative.is_relative_to(Path(".cache") / "pip"):
            found.append(str(relative))
    return sorted(found)


def test_setup_writes_nothing_under_home_but_pips_cache(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=NOT_IN_A_CLONE)
    # The interpreter this venv was made from, so a shim on PATH (pyenv keeps its state under
    # HOME by default) does not decide the outcome.
    python = Path(sys.base_prefix) / "bin" / "python3"
    assert python.exists(), python
    run = subprocess.run(["make", "setup", f"PYTHON={python}"], cwd=checkout,
                         env=clean_env(home), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    venv = checkout / ".venv"
    assert (venv / ".installed").exists()
    # The kernel the notebook test uses comes with ipykernel, inside the venv.
    assert (venv / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").exists()
    assert written_under(home) == []
