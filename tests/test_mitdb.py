"""The real ECG anomaly (spikeflux.data.mitdb, spikeflux.tasks.mitdb, spikeflux.anomaly.ecg): the loader's
errors, the shipped file's facts, the encoding, the injections' ground truth, a training smoke test and the
localisation score, each with a known answer."""

import numpy as np
import pandas as pd
import pytest
import torch

from spikeflux import tasks
from spikeflux.anomaly import ecg
from spikeflux.data import mitdb

pytest.importorskip("sktime")


@pytest.fixture(scope="module")
def task():
    return tasks.mitdb()[0]


def _write(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, message", [
    ("value,label\n0.1,0\n", "line 1: expected the header 'data,label'"),
    ("", "line 1: expected the header 'data,label', got 'an empty file'"),
    ("data,label\n0.1,0\n0.2\n", "line 3: expected 2 fields (data,label), got 1"),
    ("data,label\n0.1,0\nabc,0\n", "line 3: data 'abc' is not a number"),
    ("data,label\nnan,0\n", "line 2: data 'nan' is not finite"),
    ("data,label\n0.1,0\n0.2,2\n", "line 3: label '2' is not 0 or 1"),
])
def test_loader_names_file_line_and_problem(tmp_path, text, message):
    p = _write(tmp_path, text)
    with pytest.raises(ValueError) as err:
        mitdb.read(p, n_rows=None)
    assert message in str(err.value) and str(p) in str(err.value) and "MIT-BIH" in str(err.value)


def test_loader_checks_row_count_and_existence(tmp_path):
    p = _write(tmp_path, "data,label\n0.1,0\n0.2,1\n")
    with pytest.raises(ValueError, match=r"has 2 data rows, expected 7500"):
        mitdb.load(p)
    assert mitdb.read(p, n_rows=None).spans() == [(1, 1)]
    with pytest.raises(ValueError, match="does not exist"):
        mitdb.load(tmp_path / "missing.csv")


def test_shipped_file_facts():
    rec = mitdb.load()
    assert rec.path.name == "mitdb.csv" and rec.path.parent.name == "mitdb"
    assert rec.values.shape == rec.label.shape == (7500,) and rec.values.dtype == np.float64
    assert rec.spans() == [(6936, 7287)]
    assert rec.values[0] == -0.195 and rec.values[1] == -0.21  # the first rows of the file


def test_task_downsamples_splits_and_encodes(task):
    rec = mitdb.load()
    assert task.factor == 3 and len(task.values) == 2500
    np.testing.assert_allclose(task.values[:2], [rec.values[:3].mean(), rec.values[3:6].mean()])
    assert task.span == (6936 // 3, 7287 // 3)  # block 2429 holds sample 7287
    assert task.bounds == {"train": (0, 1500), "val": (1500, 2000), "test": (2000, 2500)}
    splits = task.split()
    assert splits["train"][1].sum() == splits["val"][1].sum() == 0 and splits["test"][1].sum() == 118
    # delta encoding by hand: up iff v[t] - v[t-1] >= theta, down iff <= -theta, none at step 0; bias on
    x, d, th = task.x, np.diff(task.values), task.threshold[0]
    assert (x[:, 0] == 1).all() and not x[0, 1:].any()
    np.testing.assert_array_equal(x[1:, 1], d >= th)
    np.testing.assert_array_equal(x[1:, 2], d <= -th)
    train_d = np.abs(np.diff(task.values[:1500]))
    assert th == pytest.approx(np.quantile(train_d[train_d > 0], 0.8))


def test_prepare_refuses_a_span_outside_test_and_a_bad_factor():
    rec = mitdb.load()
    with pytest.raises(ValueError, match="must all lie in the test part"):
        mitdb.prepare(rec, bounds=(4500, 7200))
    with pytest.raises(ValueError, match="not a multiple of factor=7"):
        mitdb.downsample(rec.values, rec.label, 7)


def test_downsample_known_answer():
    v, y = mitdb.downsample(np.arange(6.0), np.array([0, 0, 1, 0, 0, 0]), 3)
    np.testing.assert_array_equal(v, [1.0, 4.0])
    np.testing.assert_array_equal(y, [1, 0])


def test_injection_ground_truth(task):
    parts = ecg.injected_parts(task, "train", seed=0, copies=3, per_copy=6)
    for p in parts:
        lo, hi = task.bounds["train"]
        changed = p.values != p.clean
        assert not changed[hi:].any() and len(p.log) > 0
        assert (changed <= (p.label == 1)).all()  # every change lies in a labelled span
        for j, r in enumerate(p.log.itertuples()):
            assert lo + ecg.EDGE <= r.start and r.end < hi - ecg.EDGE
            assert changed[r.start:r.end + 1].sum() == r.n_changed > 0
            assert (p.anomaly[r.start:r.end + 1] == j).all()
        gaps = p.log.start.to_numpy()[1:] - p.log.end.to_numpy()[:-1]
        assert (gaps > ecg.GAP).all()
    again = ecg.injected_parts(task, "train", seed=0, copies=1, per_copy=6)[0]
    np.testing.assert_array_equal(again.values, parts[0].values)  # seeded
    assert not np.array_equal(parts[1].values, parts[0].values)


def test_kinds_known_effects():
    v = np.linspace(0.0, 1.0, 200)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(ecg.ECG_KINDS["flatline"].effect(v, 50, 59, rng, 1.0), np.full(10, v[50]))
    scaled = ecg.ECG_KINDS["amplitude"].effect(v, 50, 59, rng, 1.0)
    k = (scaled[-1] - scaled[0]) / (v[59] - v[50])
    assert 0.3 <= k <= 0.5 or 1.8 <= k <= 2.5
    shifted = ecg.ECG_KINDS["time_shift"].effect(v, 100, 119, rng, 1.0)
    d = round((v[100] - shifted[0]) / (v[1] - v[0]))
    assert 15 <= abs(d) <= 40 and np.allclose(shifted, v[100 - d:120 - d])


def test_localisation_known_answer():
    A = np.array([[1.0, -1.0, 2.0, 0.0], [0.0, 0.0, -4.0, 2.0]])
    mask = ecg.span_mask(t=9, window=4, span=(8, 20), n_in=2)  # steps 6..9, span from 8: the last two columns
    np.testing.assert_array_equal(mask, [[False, False, True, True]] * 2)
    out = ecg.span_localisation(A, mask)
    assert out["span_share"] == pytest.approx(8 / 10)
    assert out["positive_share"] == pytest.approx(4 / 5)
    assert out["chance"] == 0.5
    assert np.isnan(ecg.span_localisation(np.zeros((2, 4)), mask)["span_share"])
    with pytest.raises(ValueError, match="differ in shape"):
        ecg.span_localisation(A, mask[:, :3])


def test_training_smoke(task):
    torch.set_num_threads(1)
    run = ecg.run_seed(task, 0, train_copies=2, val_copies=1, test_copies=1, per_copy=4, max_epochs=2, patience=2,
                       methods=["lrp-epsilon", "random"])
    assert run.net.sizes[0] == 3 and run.score.shape == (2500,) and np.isfinite(run.score).all()
    assert list(run.detection.index) == ["validation, injected", "test, the labelled span",
                                         "test, injected (before the span)"]
    assert run.detection.loc["test, the labelled span", "positives"] == 118
    assert (run.alarms.onset >= 2000).all()
    first, last = task.span
    np.testing.assert_array_equal(run.alarms.true, (run.alarms.onset >= first) & (run.alarms.onset <= last + ecg.MERGE))
    assert len(run.localisation) == 2 * (int(run.alarms.true.sum()) + 1)  # every true alarm's onset, the span peak
    peak = run.localisation[run.localisation["at"] == "span peak"]
    assert (peak.step == first + np.argmax(run.score[first:last + 1])).all()
    onsets = run.localisation[run.localisation["at"] == "alarm onset"]
    np.testing.assert_array_equal(np.unique(onsets.step), run.alarms.onset[run.alarms.true])
    summary = ecg.localisation_summary([run], ["lrp-epsilon", "random"])
    assert list(summary.index) == [(at, m) for at in ecg.POINTS for m in ("lrp-epsilon", "random")]
    assert summary.maps[("span peak", "random")] == 1
    assert isinstance(ecg.detection_summary([run]), pd.DataFrame)
