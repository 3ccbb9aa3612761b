"""Every notebook executes under the quick profile (papermill), in dependency order."""

import json

import pytest

from spikeflux import pipeline
from spikeflux.config import project_root


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """Derived data and executed notebooks go to a temporary folder, not the book."""
    root = tmp_path_factory.mktemp("nb")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPIKEFLUX_DERIVED_DIR", str(root / "derived"))
    yield root
    mp.undo()


@pytest.mark.notebooks
@pytest.mark.parametrize("nb", pipeline.NOTEBOOKS, ids=[nb.name for nb in pipeline.NOTEBOOKS])
def test_notebook_executes_quick(nb, sandbox):
    seconds = pipeline.execute(nb, dict(profile="quick", seed=0, device="cpu"), out_dir=sandbox / "executed")
    out = json.loads((sandbox / "executed" / f"{nb.name}.ipynb").read_text())
    errors = [o for c in out["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert seconds > 0


def test_every_notebook_source_is_listed():
    """A notebook in notebooks/ that the pipeline does not know would never be executed."""
    on_disk = {p.stem for p in (project_root() / "notebooks").glob("*.md")}
    assert on_disk == {nb.name for nb in pipeline.NOTEBOOKS}


def test_unknown_notebook_is_an_error():
    with pytest.raises(ValueError, match="unknown notebook"):
        pipeline.ordered(["nope"])
