"""Two quick-profile runs of the whole book with the same seed give byte-identical result tables.

Every chapter is executed twice (``pipeline.run``, quick profile, seed 0, two notebooks at
a time), each run into its own derived-data folder (``SPIKEFLUX_DERIVED_DIR``). Every CSV
the chapters write must be identical byte for byte, except the files named
``*timings.csv`` (wall times, kept out of the result tables for this reason) and
``manifest.csv`` (the digests of every derived file, timings included). The trained
weights must be identical bit for bit (the ``.pt`` files themselves differ, since the
training history stored beside the weights records the seconds per epoch).

The pipeline writes ``timings.csv`` after each notebook, so the reproducibility appendix,
executed last, reads the wall times of the chapters before it (checked without executing
anything).
"""

from pathlib import Path

import pytest

from spikeflux import pipeline

PARAMS = dict(profile="quick", seed=0, device="cpu")
#: tables every chapter run must write (a run that writes nothing would pass trivially)
EXPECTED = {"models/synthetic_accuracy.csv", "adl_accuracy.csv", "sink_budget.csv", "evaluation/results.csv",
            "evaluation/curves.csv", "evaluation/pairs.csv", "evaluation/sanity.csv", "evaluation/explained.csv",
            "anomaly_detection.csv", "anomaly_localisation.csv", "beyond_lif/accuracy.csv",
            "beyond_lif/evaluation.csv", "shapley/agreement.csv", "models/uea_accuracy.csv", "models/uea_evaluation.csv"}


def _varies(path: Path) -> bool:
    return path.name.endswith("timings.csv") or path.name == "manifest.csv"


def _files(root: Path, pattern: str) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob(pattern)) if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Derived folders of two executions of every chapter with the same seed."""
    roots = []
    for run in ("a", "b"):
        root = tmp_path_factory.mktemp(f"repro-{run}")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SPIKEFLUX_DERIVED_DIR", str(root / "derived"))
            mp.setenv("MPLBACKEND", "Agg")
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # set by the pipeline; undone here
                mp.setenv(var, "1")
            pipeline.run(**PARAMS, jobs=2, out_dir=root / "executed")
        roots.append(root / "derived")
    return roots


@pytest.mark.notebooks
def test_result_tables_are_byte_identical(two_runs):
    a, b = (_files(root, "*.csv") for root in two_runs)
    assert set(a) == set(b)
    results = sorted(name for name in a if not _varies(a[name]))
    missing = EXPECTED - set(results)
    assert not missing, f"the chapters wrote no {sorted(missing)}: {results}"
    differ = [name for name in results if a[name].read_bytes() != b[name].read_bytes()]
    assert not differ, f"result tables differ between two runs with the same seed: {differ}"


#: column names of wall times (a bare "seconds" or "duration" is data here: ADL has one step per second)
WALL_TIME = ("seconds_per_epoch", "train_seconds", "wall", "elapsed", "runtime")


@pytest.mark.notebooks
def test_result_tables_hold_no_wall_times(two_runs):
    """Wall times live only in ``*timings.csv`` files, never in a result table."""
    for name, path in _files(two_runs[0], "*.csv").items():
        if not _varies(path):
            header = path.read_text().splitlines()[0].split(",")
            assert not [c for c in header if any(w in c for w in WALL_TIME)], f"{name} has a timing column: {header}"


@pytest.mark.notebooks
def test_trained_weights_are_bit_identical(two_runs):
    import torch

    a, b = (_files(root, "*.pt") for root in two_runs)
    assert set(a) == set(b) and {"models/synthetic_2L.pt", "models/adl_2L.pt"} <= set(a), sorted(a)
    for name in a:
        sa, sb = (torch.load(f[name], weights_only=True)["state_dict"] for f in (a, b))
        assert sa.keys() == sb.keys()
        for key in sa:
            assert torch.equal(sa[key], sb[key]), f"{name}: {key} differs between two runs with the same seed"


def test_timings_are_written_after_each_notebook(tmp_path, monkeypatch, capsys):
    """The reproducibility appendix, executed last, reads the wall times of the chapters before it."""
    import csv

    monkeypatch.setenv("SPIKEFLUX_DERIVED_DIR", str(tmp_path))
    (tmp_path / "timings.csv").write_text("notebook,profile,seconds\nstale,full,1.00\n")
    seen = {}

    def fake_execute(nb, parameters, root=None, out_dir=None):
        with open(tmp_path / "timings.csv", newline="") as fh:
            seen[nb.name] = [row["notebook"] for row in csv.DictReader(fh)]
        return 1.5

    monkeypatch.setattr(pipeline, "execute", fake_execute)
    names = [nb.name for nb in pipeline.NOTEBOOKS]
    pipeline.run("quick", 0, "cpu")
    assert names[-1] == "reproducibility"
    for k, name in enumerate(names):
        assert seen[name] == names[:k], f"{name} saw {seen[name]}"
    rows = list(csv.DictReader((tmp_path / "timings.csv").read_text().splitlines()))
    assert [r["notebook"] for r in rows] == names
    assert {r["profile"] for r in rows} == {"quick"} and {r["seconds"] for r in rows} == {"1.50"}
