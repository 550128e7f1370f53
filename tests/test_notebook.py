"""The teaching notebook runs top to bottom on the venv's own kernel; its exercise checks bite."""

import html
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "bptt.ipynb"
RENDERED = ROOT / "docs" / "bptt.html"  # `make docs` writes it: the notebook, executed

# A typical slip in each exercise, appended to its worked answer: each must fail the check.
WRONG_ANSWERS = {
    1: "answer_1 = np.outer(dL3_dh2, h[1])  # f_h'(a_2) forgotten",
    2: "answer_2 = dh_dh_prev(2) @ dh_dh_prev(3) @ dh_dh_prev(4)  # oldest first",
    3: "answer_3 = sum(np.outer(2 * (yhat[t] - y[t]) @ U * df_h(a[t]), h[t - 1])"
       " for t in range(1, T + 1))  # only the k = t terms",
}


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """An empty HOME, Jupyter's and IPython's state in tmp_path, and the venv's kernelspec first."""
    home = tmp_path / "home"
    home.mkdir()
    paths = [str(ROOT), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HOME", str(home))
    for name in ("JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    # The user's own kernels (~/.local/share/jupyter/kernels) must not shadow the venv's python3.
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")
    return home


def execute(nb: nbformat.NotebookNode, allow_errors: bool = False) -> nbformat.NotebookNode:
    """Run ``nb`` in place with the python3 kernel, from the notebooks folder."""
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return nb


def stream_text(cell: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for out in cell.outputs)


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_python3_kernel_is_the_venvs_own(kernel_env):
    # ipykernel installed in the venv ships share/jupyter/kernels/python3 under sys.prefix.
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.resource_dir).is_relative_to(Path(sys.prefix))


def test_notebook_runs_top_to_bottom(kernel_env):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint('kernel prefix:', sys.prefix)"))
    execute(nb)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    text = "".join(out.get("text", "") for out in outputs)
    assert f"kernel prefix: {sys.prefix}\n" in text
    assert "matches the sum of its terms: False" not in text
    assert text.count("matches the sum of its terms: True") == 4
    assert "sum of all terms equals autodiff: True" in text
    assert "k = 1 terms of dL_t/dW, all exactly zero: True" in text
    assert "every step back within max f_h' * sigma_max(W): True" in text
    for number in WRONG_ANSWERS:
        assert f"Exercise {number}: correct" in text
    svgs = [out for out in outputs if "image/svg+xml" in out.get("data", {})]
    assert svgs, "the unrolled graph is shown inline as SVG"
    # The term view: a near and a far term of dL_4/dW, titled with their norms, side by side.
    assert "term k=4 of dL_4/dW: ||term|| = " in text
    assert "term k=2 of dL_4/dW: ||term|| = " in text
    pairs = [out.data["text/html"] for out in outputs if "term-pair" in out.get("data", {}).get(
        "text/html", "")]
    assert len(pairs) == 1 and pairs[0].count("<svg") == 2
    assert not any(kernel_env.iterdir()), "running the notebook wrote under $HOME"


def test_exercise_checks_reject_wrong_answers(kernel_env):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    answers = [i for i, cell in enumerate(nb.cells) if cell.source.startswith("# Worked answer")]
    assert len(answers) == len(WRONG_ANSWERS)
    for number, index in enumerate(answers, start=1):
        nb.cells[index].source += "\n" + WRONG_ANSWERS[number]
    execute(nb, allow_errors=True)
    for number, index in enumerate(answers, start=1):
        check = nb.cells[index + 1]
        errors = [out.ename for out in check.outputs if out.output_type == "error"]
        assert errors == ["AssertionError"], (number, errors)
        assert f"Exercise {number}: correct" not in stream_text(check)


def test_docs_html_is_this_notebook_executed():
    page = RENDERED.read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # what the page shows, code unhighlighted
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for kind, css in (("code", "jp-CodeCell"), ("markdown", "jp-MarkdownCell")):
        count = sum(cell.cell_type == kind for cell in nb.cells)
        assert page.count(f'class="jp-Cell {css}') == count, f"{kind} cells: rerun make docs"
    for cell in nb.cells:
        if cell.cell_type == "code":
            for line in filter(str.strip, cell.source.splitlines()):
                assert line in text, f"docs/bptt.html lacks {line!r}: rerun make docs"
    assert "Traceback" not in text
    for number in WRONG_ANSWERS:
        assert f"Exercise {number}: correct" in text
    assert "sum of all terms equals autodiff: True" in text
