"""The ADL chapter's tables (spikeflux.adl_report) and helpers of data.adl it uses: known answers."""

from datetime import datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from spikeflux import adl_report
from spikeflux.data.adl import ISSUE_OVERLAP, ReportEntry, Subject, minute_overlaps


def test_ranking_says_whether_intervals_overlap():
    overall = pd.DataFrame(dict(balanced_accuracy=[0.5, 0.7, 0.6], ci_low=[0.4, 0.65, 0.5], ci_high=[0.6, 0.75, 0.66]),
                           index=pd.Index(["1L", "2L", "3L"], name="model"))
    best, text = adl_report.ranking(overall)
    assert best == "2L"
    assert text == ("2L, whose interval overlaps that of the runner-up, 3L, so this test set does not settle "
                    "the order between them")
    overall.loc["3L", "ci_high"] = 0.62
    assert adl_report.ranking(overall)[1] == "2L, whose interval lies above that of the runner-up, 3L"


def test_confusions_and_error_summary():
    classes = ("Sleeping", "Toileting", "Other")
    cm = np.array([[8, 2, 0], [0, 0, 4], [1, 0, 5]])  # Toileting never predicted right; 7 errors of 20
    rate = adl_report.confusion_rates(cm)
    np.testing.assert_allclose(rate[0], [0.8, 0.2, 0.0])
    assert np.isnan(adl_report.confusion_rates(np.array([[0, 0], [1, 1]]))[0]).all()
    errors = adl_report.confusions(cm, classes)
    assert errors[["true", "predicted", "seconds"]].values.tolist() == [
        ["Sleeping", "Toileting", 2], ["Toileting", "Other", 4], ["Other", "Sleeping", 1]]
    np.testing.assert_allclose(errors.share_of_errors, [2 / 7, 4 / 7, 1 / 7])
    pred = np.array([0] * 9 + [1] * 2 + [2] * 9)  # column sums of cm
    recall = pd.DataFrame({"test seconds": cm.sum(1), "2L": [0.8, 0.0, 5 / 6], "silent share": [0.9, 0.25, 0.6]},
                          index=pd.Index(classes, name="class"))
    texts, table = adl_report.error_summary(cm, pred, recall, "2L", classes)
    assert texts["adl-error-share"] == "35%"
    assert texts["adl-sink"] == "Other" and texts["adl-sink-share"] == "57%"  # Other receives 4 of 7
    assert texts["adl-other-share"] == "71%"  # Toileting -> Other (4) and Other -> Sleeping (1)
    assert texts["adl-never"] == "none" and texts["adl-n-never"] == "0"
    assert texts["adl-confusions-rate"].startswith("Toileting taken for Other (100% of its seconds)")
    assert texts["adl-silent-classes"] == "Sleeping (90% silent)"
    assert texts["adl-best-recalled"] == "Sleeping (recall 0.80, 90% silent), Toileting (recall 0.00, 25% silent)"
    assert list(table.index.get_level_values("rank")) == ["by seconds"] * 3 + ["by share of the class"] * 3


def test_fit_results_rows_per_seed_and_span():
    class Net:
        sizes = [3, 4]

    hist = SimpleNamespace(val_loss=[1.0, 0.9], best_epoch=1, stopped_early=False, epoch_seconds=[2.0, 4.0],
                           dropped_steps={"train": 5, "val": 1})
    y = np.array([0, 1, 1, 0, 2, 2] * 50)
    splits = {"test": (None, y), "test_by_subject": {}}
    trained = {("1L", 0): (Net(), hist, {"pred": y}), ("1L", 1): (Net(), hist, {"pred": np.zeros_like(y)})}
    fitted, histories, training, acc = adl_report.fit_results(trained, splits, [0, 1], 3, profile="quick")
    assert list(fitted) == ["1L"] and fitted["1L"][1] is y and histories["1L"] is hist
    assert training.loc["1L", "seconds_per_epoch"] == 3.0 and training.loc["1L", "train_seconds"] == 6.0
    assert acc[["model", "subject", "seed", "classes_present"]].values.tolist() == [["1L", "A+B", 0, 3], ["1L", "A+B", 1, 3]]
    assert acc.balanced_accuracy.tolist() == pytest.approx([1.0, 1 / 3])
    assert list(acc.columns) == ["model", "epochs", "best_epoch", "subject", "balanced_accuracy", "ci_low", "ci_high",
                                 "test_steps", "classes_present", "chance", "profile", "seed"]


def _entry(subject, original, result, issue=ISSUE_OVERLAP):
    return ReportEntry(subject=subject, file="f", line=3, issue=issue, action="a", original=original, result=result)


def test_minute_overlaps_counts_whole_minute_artefacts():
    report = [
        _entry("B", "2012-11-11 10:00:00 .. 2012-11-11 10:05:59 Eating", "2012-11-11 10:00:00 .. 2012-11-11 10:04:59 Eating"),
        _entry("B", "2012-11-11 11:00:00 .. 2012-11-11 11:05:30 Eating", "2012-11-11 11:00:00 .. 2012-11-11 11:04:30 Eating"),
        _entry("B", "2012-11-11 12:00:00 .. 2012-11-11 12:05:59 Eating", "2012-11-11 12:00:00 .. 2012-11-11 12:05:00 Eating"),
        _entry("B", "2012-11-11 13:00:00 .. 2012-11-11 13:05:59 Eating", "dropped"),
        _entry("A", "2012-11-11 10:00:00 .. 2012-11-11 10:05:59 Eating", "2012-11-11 10:00:00 .. 2012-11-11 10:04:59 Eating"),
        _entry("B", "x .. y", "z", issue="reversed_label"),
    ]
    assert minute_overlaps(report, "B") == (4, 1)  # :59 and cut by exactly 60 s: only the first
    assert minute_overlaps(report, "A") == (1, 1)


def test_first_full_day():
    n = 3 * 86_400
    s = Subject(name="A", x=np.zeros((n, 2), np.float32), y=np.zeros(n, np.int64), start=datetime(2011, 11, 28, 2, 27, 59),
                report=[], digests={})
    i0, date = s.first_full_day()
    assert date == "2011-11-29" and i0 == 86_400 - (2 * 3600 + 27 * 60 + 59)
    short = Subject(name="B", x=np.zeros((90_000, 2), np.float32), y=np.zeros(90_000, np.int64),
                    start=datetime(2011, 11, 28, 2, 0, 0), report=[], digests={})
    with pytest.raises(ValueError, match="subject B has no whole calendar day"):
        short.first_full_day()


def test_gap_table_against_the_baseline_on_shared_seeds(tmp_path):
    path = tmp_path / "gap.csv"
    cols = "attempt,depth,seed,epochs,val_ba,test_ba_AB,test_ba_A,test_ba_B,cpu_s"
    path.write_text("# command: python benchmarks/adl_gap.py x.csv\n# commit: abc123\n" + cols + "\n"
                    "baseline,2L,0,10,0.50,0.40,0.6,0.3,100\nbaseline,2L,1,12,0.52,0.44,0.6,0.3,120\n"
                    "plateau,2L,0,14,0.56,0.43,0.7,0.2,140\nplateau,2L,1,16,0.54,0.45,0.7,0.2,160\n"
                    "other,2L,7,5,0.9,0.9,0.9,0.9,1\n")
    rows, meta = adl_report.read_benchmark(path)
    assert meta == {"command": "python benchmarks/adl_gap.py x.csv", "commit": "abc123"}
    table = adl_report.gap_table(rows)
    assert list(table.index) == ["baseline", "plateau"]  # "other" shares no seed with the baseline
    assert adl_report.gap_table(rows, depth="3L").empty
    assert list(table.columns[:3]) == ["val s0", "val s1", "Δ val"]
    both = adl_report.gap_by_model(pd.concat([rows, rows.assign(depth="1L").iloc[[0, 2]]]), ["1L", "2L", "3L"])
    assert list(both.index) == [("1L", "baseline"), ("1L", "plateau"), ("2L", "baseline"), ("2L", "plateau")]
    assert list(both.columns[:2]) == ["val s0", "val s1"] and np.isnan(both.loc[("1L", "plateau"), "val s1"])
    assert table.loc["plateau", "Δ val"] == pytest.approx(0.04)  # (0.06 + 0.02) / 2
    assert table.loc["plateau", "Δ test"] == pytest.approx(0.02)  # (0.03 + 0.01) / 2
    assert table.loc["baseline", "Δ val"] == 0
    assert table.loc["plateau", "val s1"] == 0.54 and table.loc["plateau", "CPU s"] == 150
    with pytest.raises(FileNotFoundError, match="no recorded benchmark"):
        adl_report.read_benchmark(tmp_path / "missing.csv")
