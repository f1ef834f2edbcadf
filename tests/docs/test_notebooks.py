"""The course's notebooks run top to bottom, as a learner would run them.

With the solutions (``notebooks/solutions/solutions.py``) filled into the cells tagged
``exercise:<name>``, every notebook completes and every checker's cell (tagged ``check:<name>``)
says PASS. As committed, with the exercises unfilled, every notebook still completes and every
checker's cell says, as text and not as a traceback, that the exercise is not written yet.

Needs the notebooks extra (``pip install -e '.[notebooks]'``: nbclient, nbformat, ipykernel); the
notebooks run in a kernel of the interpreter running the tests, in a temporary folder.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]' installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[notebooks]' installs nbclient")
pytest.importorskip("ipykernel", reason="pip install -e '.[notebooks]' installs ipykernel")

ROOT = Path(__file__).parents[2]
FOLDER = ROOT / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]-*.ipynb"))
SOLUTIONS = FOLDER / "solutions" / "solutions.py"
PLACEHOLDER = 'raise NotImplementedError("write this")'
FIGURES = {"01": 1, "04": 2, "05": 3, "06": 3, "07": 1, "08": 1}  # notebooks that draw, and how many figures at least


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _tagged(cell, kind: str) -> list[str]:
    """The names of ``cell``'s tags ``kind:<name>``."""
    return [tag.split(":", 1)[1] for tag in cell.metadata.get("tags", []) if tag.startswith(f"{kind}:")]


def _solutions() -> dict[str, str]:
    """Each solution function's source, by name."""
    source = SOLUTIONS.read_text(encoding="utf-8")
    return {node.name: ast.get_source_segment(source, node) for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef)}


def _filled(nb):
    """A copy of ``nb`` with every exercise cell replaced by its solution."""
    nb = copy.deepcopy(nb)
    solutions = _solutions()
    for cell in nb.cells:
        for name in _tagged(cell, "exercise"):
            cell.source = solutions[name]
    return nb


@pytest.fixture(autouse=True)
def _kernel_environment(monkeypatch):
    # the kernel inherits this process's environment: a MPLBACKEND left by an in-process run of the
    # command line (which sets Agg) would turn off the inline figures a learner's Jupyter shows
    monkeypatch.delenv("MPLBACKEND", raising=False)


def _run(nb, folder: Path):
    """Execute ``nb`` top to bottom in a fresh kernel started in ``folder``; a cell that raises fails the test."""
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()
    return nb


def _text(cell) -> str:
    """What a reader sees of a cell's output as text: streams, results and errors."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
    return "\n".join(parts)


def _ids(paths):
    return [p.stem for p in paths]


def _with_exercises():
    return [p for p in NOTEBOOKS if any(_tagged(c, "exercise") for c in _read(p).cells)]


CHECKERS = {  # each exercise's checker, by the function's name
    "lstm_cell_forward": "scratchlstm.exercises:check_cell_forward",
    "gates_backward": "scratchlstm.exercises:check_gates_backward",
    "lstm_forward_loop": "scratchlstm.exercises_math:check_forward_loop",
    "lstm_bptt_loop": "scratchlstm.exercises_math:check_bptt_loop",
    "truncated_bptt": "scratchlstm.exercises_math:check_truncated_bptt",
    "clip_by_norm": "scratchlstm.exercises_math:check_clip_by_norm",
    "adam_step": "scratchlstm.exercises_math:check_adam_step",
    "gru_cell_forward": "scratchlstm.exercises_math:check_gru_cell_forward",
    "gru_cell_backward": "scratchlstm.exercises_math:check_gru_cell_backward",
    "relative_error": "scratchlstm.exercises_math:check_relative_error",
    "make_windows": "scratchlstm.forecast.exercises:check_make_windows",
    "diebold_mariano": "scratchlstm.forecast.exercises:check_diebold_mariano",
}


def test_the_course_has_its_notebooks_and_a_solution_for_each_of_its_exercises():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01-", "02-", "03-", "04-", "05-", "06-", "07-", "08-"]
    used = {name for p in NOTEBOOKS for cell in _read(p).cells for name in _tagged(cell, "exercise")}
    assert used == set(_solutions()) == set(CHECKERS)
    assert len(used) >= 10
    for p in NOTEBOOKS[1:6]:  # every notebook of the course's core after the first has an exercise
        assert any(_tagged(c, "exercise") for c in _read(p).cells), f"{p.name} has no exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_has_no_outputs_and_no_solutions(path):
    nb = _read(path)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear the outputs before committing"
        for name in _tagged(cell, "exercise"):
            assert re.search(rf"^def {name}\(", cell.source, flags=re.M), f"{path.name}: the cell for {name} does not define it"
            assert PLACEHOLDER in cell.source, f"{path.name}: the exercise cell for {name} must hold only the placeholder"
            assert len([line for line in cell.source.splitlines() if line.strip()]) <= 6, f"{path.name}: {name} looks filled in"
        for name in _tagged(cell, "check"):
            assert any(name in _tagged(c, "exercise") for c in nb.cells), f"{path.name}: check:{name} has no exercise cell"


def test_solutions_pass_their_checkers_outside_a_notebook():
    import importlib

    namespace: dict = {}
    exec(compile(SOLUTIONS.read_text(encoding="utf-8"), str(SOLUTIONS), "exec"), namespace)
    for name, where in CHECKERS.items():
        module, checker = where.split(":")
        report = getattr(importlib.import_module(module), checker)(namespace[name])
        assert report.passed, str(report)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_with_the_solutions_and_every_check_passes(path, tmp_path):
    nb = _run(_filled(_read(path)), tmp_path)
    checks = [cell for cell in nb.cells if _tagged(cell, "check")]
    for cell in checks:
        assert _text(cell).startswith("PASS"), f"{path.name}: {_text(cell)}"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert not (out.output_type == "stream" and out.name == "stderr" and "Warning" in out.text), out.text
    images = sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))
    assert images >= FIGURES.get(path.name[:2], 0), f"{path.name} showed {images} figures"
    assert list(tmp_path.iterdir()) == [], "a notebook wrote files into its folder"


@pytest.mark.parametrize("path", _with_exercises(), ids=_ids(_with_exercises()))
def test_unfilled_notebook_runs_and_each_checker_says_what_is_missing(path, tmp_path):
    nb = _run(_read(path), tmp_path)
    checks = [cell for cell in nb.cells if _tagged(cell, "check")]
    assert checks
    for cell in checks:
        text = _text(cell)
        name = _tagged(cell, "check")[0]
        assert text.startswith(f"FAIL: {name} is not written yet"), text
        assert "Traceback" not in text and len(text.splitlines()) == 1, text
