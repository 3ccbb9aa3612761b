"""The pipeline's execution cache (jupyter-cache): what re-executes a notebook and what does not.

Two tiny notebooks in a scratch project, ``up`` (writes a file to the derived folder) and
``down`` (needs ``up``, reads the file), are executed for real with papermill. A prose edit
re-executes nothing and the book's notebook shows the new prose with the cached outputs;
a code edit, another seed, a changed upstream output or a missing output re-executes what
it should and nothing else.
"""

import json
import subprocess
from pathlib import Path

import pytest

from spikeflux import pipeline

FRONT = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
'''

#: the parameters cell every notebook of the pipeline takes
PARAMETERS = '''```{{code-cell}} ipython3
:tags: [parameters]

profile = "quick"
seed = 0
device = "cpu"
```
'''

UP = FRONT + '''
# Up

{prose}

''' + PARAMETERS + '''
```{{code-cell}} ipython3
import os
from pathlib import Path
Path(os.environ["SPIKEFLUX_DERIVED_DIR"], "up.txt").write_text(str(seed + {offset}))
```
'''

DOWN = FRONT + '''
# Down

{prose}

''' + PARAMETERS + '''
```{{code-cell}} ipython3
import os
from pathlib import Path
print("up wrote", Path(os.environ["SPIKEFLUX_DERIVED_DIR"], "up.txt").read_text())
```
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("SPIKEFLUX_DERIVED_DIR", str(tmp_path / "derived"))
    monkeypatch.setattr(pipeline, "project_root", lambda: tmp_path)
    monkeypatch.setattr(pipeline, "NOTEBOOKS", (pipeline.Notebook("up"), pipeline.Notebook("down", needs=("up",))))
    write(tmp_path, up_prose="First version.", down_prose="First version.", offset=0)
    return tmp_path


def write(root: Path, up_prose: str, down_prose: str, offset: int) -> None:
    (root / "notebooks" / "up.md").write_text(UP.format(prose=up_prose, offset=offset))
    (root / "notebooks" / "down.md").write_text(DOWN.format(prose=down_prose))


def run(root: Path, seed: int = 0, **kw) -> dict[str, str]:
    pipeline.run("quick", seed, "cpu", out_dir=root / "executed", **kw)
    rows = (root / "derived" / "timings.csv").read_text().splitlines()[1:]
    return {r.split(",")[0]: r.split(",")[3] for r in rows}


def book_notebook(root: Path, name: str) -> dict:
    return json.loads((root / "executed" / f"{name}.ipynb").read_text())


def markdown(nb: dict) -> str:
    return "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def outputs(nb: dict) -> str:
    return "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                   for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


@pytest.mark.notebooks
def test_cache_reuses_what_did_not_change(project, monkeypatch):
    root = project
    assert run(root) == {"up": "executed", "down": "executed"}
    assert "up wrote 0" in outputs(book_notebook(root, "down"))
    assert (root / "derived" / pipeline.CACHE_DIRNAME).is_dir()

    # unchanged: nothing runs, and the book's notebooks are not rewritten (Sphinx rebuilds nothing)
    before = {n: (root / "executed" / f"{n}.ipynb").stat().st_mtime_ns for n in ("up", "down")}
    assert run(root) == {"up": "reused", "down": "reused"}
    assert before == {n: (root / "executed" / f"{n}.ipynb").stat().st_mtime_ns for n in ("up", "down")}

    # a prose edit: nothing runs, the book's notebook has the new text and the cached outputs
    write(root, up_prose="First version.", down_prose="Second version of the prose.", offset=0)
    assert run(root) == {"up": "reused", "down": "reused"}
    down = book_notebook(root, "down")
    assert "Second version of the prose." in markdown(down) and "First version." not in markdown(down)
    assert "up wrote 0" in outputs(down)
    # the parameters cell papermill injected is shown, the notebook's own defaults are not
    tags = [c["metadata"].get("tags", []) for c in down["cells"] if c["cell_type"] == "code"]
    assert ["parameters", "remove-cell"] in tags and ["injected-parameters"] in tags

    # a code edit upstream that changes its output re-runs it and what reads the output
    write(root, up_prose="First version.", down_prose="Second version of the prose.", offset=5)
    assert run(root) == {"up": "executed", "down": "executed"}
    assert "up wrote 5" in outputs(book_notebook(root, "down"))

    # another seed is another key; back at seed 0, up runs again because seed 1 overwrote
    # its output, and down, whose upstream key is the same, is reused
    assert run(root, seed=1) == {"up": "executed", "down": "executed"}
    assert (root / "derived" / "up.txt").read_text() == "6"
    assert run(root, seed=0) == {"up": "executed", "down": "reused"}
    assert (root / "derived" / "up.txt").read_text() == "5"
    assert "up wrote 5" in outputs(book_notebook(root, "down"))

    # --no-deps: down alone is reused while up's outputs are those of its cached execution ...
    assert run(root, only=["down"], deps=False) == {"down": "reused"}
    # ... and executed (not cached) once they are not
    (root / "derived" / "up.txt").write_text("99")
    assert run(root, only=["down"], deps=False) == {"down": "executed"}
    assert "up wrote 99" in outputs(book_notebook(root, "down"))

    # without the cache everything runs
    assert run(root, cache=False) == {"up": "executed", "down": "executed"}

    # another matplotlib backend (figures as text, not images) is another key
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert run(root) == {"up": "executed", "down": "executed"}


def test_package_files_follow_imports():
    files = {p.relative_to(Path(pipeline.__file__).parent).as_posix()
             for p in pipeline.package_files("import numpy as np\nfrom spikeflux.tables import glue_table\n%matplotlib inline")}
    assert {"__init__.py", "tables.py"} <= files
    assert "pipeline.py" not in files and "snn.py" not in files
    explain = {p.relative_to(Path(pipeline.__file__).parent).as_posix()
               for p in pipeline.package_files("from spikeflux.explain import explain")}
    # explain/__init__ imports its method modules, relatively; they import the network
    assert {"explain/__init__.py", "explain/registry.py", "explain/lrp.py", "snn.py"} <= explain
    assert pipeline.package_files("import numpy") == []


def test_make_clean_clears_the_cache():
    root = Path(pipeline.__file__).resolve().parents[2]
    dry = subprocess.run(["make", "-n", "clean"], cwd=root, capture_output=True, text=True, check=True).stdout
    assert pipeline.CACHE_DIRNAME in dry and "rm -rf" in dry


@pytest.mark.notebooks
def test_a_report_on_the_derived_folder_reruns_when_any_file_changes(project, monkeypatch):
    root = project
    monkeypatch.setattr(pipeline, "REPORTS_ON_DERIVED", {"down": ("report.txt",)})
    assert run(root) == {"up": "executed", "down": "executed"}
    (root / "derived" / "report.txt").write_text("its own output: not an input")
    assert run(root) == {"up": "reused", "down": "reused"}
    (root / "derived" / "other.csv").write_text("a file another chapter wrote")
    assert run(root) == {"up": "reused", "down": "executed"}
