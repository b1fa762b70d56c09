"""The analysis notebooks (notebooks/*.ipynb) run start to end in a fresh kernel on their small
parameters (RETINAVLM_NOTEBOOK_SMALL=1), draw their figures, write only under RETINAVLM_NOTEBOOK_OUT,
and are committed without outputs.
"""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from retinavlm.resources import project_root, shared_data_dir

NOTEBOOK_DIR = project_root() / "notebooks"
# notebook -> the least number of figures its small run draws
NOTEBOOKS = {
    "01_synthetic_vs_real": 4,
    "02_training_curricula": 3,
    "03_evaluation_analysis": 4,
    "04_data_efficiency": 2,
    "05_real_oct": 3,
}
NEEDS_REAL_DATA = {"05_real_oct"}
MISSING_EXTRA = "nbclient/nbformat/ipykernel are not installed: pip install -e '.[notebooks]'"


def _cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOK_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def _figures(notebook) -> int:
    return sum("image/png" in out.get("data", {}) for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs)


def test_the_notebooks_are_the_listed_ones():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    code = [c for c in _cells(name) if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c["outputs"] or c["execution_count"] is not None]
    assert not dirty, f"code cells {dirty} have outputs: run python scripts/strip_notebook_outputs.py"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_opens_with_a_parameters_cell_with_a_small_mode(name):
    first = next(c for c in _cells(name) if c["cell_type"] == "code")
    source = "".join(first["source"])
    assert "parameters" in first["metadata"].get("tags", [])
    assert 'SMALL = os.environ.get("RETINAVLM_NOTEBOOK_SMALL") == "1"' in source
    assert 'os.environ.get("RETINAVLM_NOTEBOOK_OUT")' in source


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_headless_in_small_mode(name, tmp_path, monkeypatch):
    if name in NEEDS_REAL_DATA and not (shared_data_dir() and (shared_data_dir() / "kermany-oct2017").is_dir()):
        pytest.skip("the real Kermany sample (../shared/data/kermany-oct2017) is absent; this notebook is about it")
    nbformat = pytest.importorskip("nbformat", reason=MISSING_EXTRA)
    nbclient = pytest.importorskip("nbclient", reason=MISSING_EXTRA)
    out = tmp_path / "out"
    monkeypatch.setenv("RETINAVLM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("RETINAVLM_NOTEBOOK_OUT", str(out))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend renders the figures
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # a failing cell raises CellExecutionError with the cell and its traceback
    assert _figures(notebook) >= NOTEBOOKS[name]
    assert [p.name for p in out.iterdir()] == [name]


def test_strip_script_clears_outputs_and_check_mode_reports_them(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason=MISSING_EXTRA)
    spec = importlib.util.spec_from_file_location("strip_notebook_outputs", project_root() / "scripts" / "strip_notebook_outputs.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    path = tmp_path / "nb.ipynb"
    shutil.copy(NOTEBOOK_DIR / "01_synthetic_vs_real.ipynb", path)
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    cell.execution_count = 3
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    nbformat.write(notebook, path)

    assert script.main(["--check", str(path)]) == 1
    assert script.main([str(path)]) == 0
    assert script.main(["--check", str(path)]) == 0
    stripped = nbformat.read(path, as_version=4)
    assert [c.source for c in stripped.cells] == [c.source for c in notebook.cells]
    first = next(c for c in stripped.cells if c.cell_type == "code")
    assert first.outputs == [] and first.execution_count is None and "execution" not in first.metadata
