"""The greedy hyper-parameter search: its selection rule by hand, then with the real training loop."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spikeflux import tasks, tuning
from spikeflux.models import HYPERPARAMS


@pytest.fixture(scope="module")
def splits():
    _, sp = tasks.synthetic(n_steps=20_000)
    return sp


def quadratic(calls):
    """Objective with a known optimum (lr = 0.01, tau_mem = 0.1); records every call."""

    def objective(cfg):
        calls.append(dict(cfg))
        return dict(val_nll=(math.log10(cfg["lr"]) + 2) ** 2 + (math.log10(cfg["tau_mem"]) + 1) ** 2)

    return objective


def test_greedy_picks_minimum_and_carries_it_forward():
    calls = []
    start = dict(lr=1e-3, tau_mem=1e-3, batch_size=128)
    rows, final = tuning.greedy(start, {"lr": [1e-3, 1e-2, 1e-1], "tau_mem": [1e-3, 1e-1]}, quadratic(calls))
    assert final == dict(lr=1e-2, tau_mem=1e-1, batch_size=128)
    step1 = [r for r in rows if r["step"] == 1]
    assert [r["chosen"] for r in step1] == [False, True, False]
    assert all(r["chosen_value"] == 1e-2 for r in step1)
    # step 2 varies tau_mem with the lr chosen at step 1
    step2 = [r for r in rows if r["step"] == 2]
    assert [r["value"] for r in step2] == [1e-3, 1e-1]
    assert step2[0]["val_nll"] == pytest.approx(0.0 + 4.0)
    assert step2[1]["chosen"] and step2[1]["val_nll"] == pytest.approx(0.0)
    # (lr=1e-2, tau_mem=1e-3) was already evaluated at step 1: reused, not recomputed
    assert not step2[0]["trained"] and len(calls) == 4
    assert tuning.count_trainings({"lr": [1e-3, 1e-2, 1e-1], "tau_mem": [1e-3, 1e-1]}, start) == 4
    assert tuning.count_trainings({"lr": [1e-3, 1e-2, 1e-1], "tau_mem": [1e-2, 1e-1]}, start) == 5
    assert calls[-1] == dict(lr=1e-2, tau_mem=1e-1, batch_size=128)


def test_greedy_ties_and_divergence():
    losses = {1: math.nan, 2: 0.5, 3: 0.5}
    rows, final = tuning.greedy(dict(a=1), {"a": [1, 2, 3]}, lambda cfg: dict(val_nll=losses[cfg["a"]]))
    assert final["a"] == 2  # NaN (diverged) never wins; first value on ties
    assert [r["chosen"] for r in rows] == [False, True, False]
    with pytest.raises(ValueError, match="not in the start"):
        tuning.greedy(dict(a=1), {"b": [1]}, lambda cfg: dict(val_nll=0.0))


def test_greedy_search_on_training(splits):
    spec_lr = HYPERPARAMS[("synthetic", "2L")]["lr"]
    grid = {"tau_mem": [1e-3, 1e-2], "lr": [spec_lr, 3 * spec_lr]}
    df = tuning.greedy_search("synthetic", "2L", splits, grid, epochs=1, seed=0)
    assert tuple(df.columns) == tuning.COLUMNS
    assert len(df) == 4 and (df["task"] == "synthetic").all() and (df["depth"] == "2L").all()
    assert (df["epochs"] == 1).all() and np.isfinite(df["val_nll"]).all()
    for _, g in df.groupby("step"):
        best = g.loc[g["val_nll"].idxmin()]
        assert g["chosen"].sum() == 1 and bool(best["chosen"])
        assert (g["chosen_value"] == best["value"]).all()
    # the lr trial at the spec's lr repeats the configuration chosen at step 1: reused, same loss
    step1_best = df[(df.step == 1) & df.chosen].iloc[0]
    repeat = df[(df.step == 2) & (df.value == spec_lr)].iloc[0]
    assert not repeat["trained"] and repeat["val_nll"] == step1_best["val_nll"]
    lr_trials = df[df.step == 2]
    assert set(lr_trials["parameter"]) == {"lr"}
    chosen = tuning.chosen(df)[("synthetic", "2L")]
    assert chosen == {"tau_mem": step1_best["value"], "lr": lr_trials.loc[lr_trials.chosen, "value"].iloc[0]}


def test_results_round_trip(tmp_path):
    rows, _ = tuning.greedy(dict(hidden=[10], lr=1e-2), {"hidden": [[5], [10]], "lr": [1e-3, 1e-2]},
                            lambda cfg: dict(val_nll=cfg["hidden"][0] * cfg["lr"], best_val_nll=0.0, epochs=1,
                                             seconds=0.0))
    df = pd.DataFrame(rows)
    df.insert(0, "depth", "2L")
    df.insert(0, "task", "adl")
    df = df[list(tuning.COLUMNS)]
    back = tuning.read_results(tuning.write_results(df, tmp_path / "r.csv"))
    assert back["value"].tolist() == [[5], [10], 1e-3, 1e-2]
    assert tuning.chosen(back)[("adl", "2L")] == {"hidden": [5], "lr": 1e-3}


def test_rejects_unknown_parameters(splits):
    with pytest.raises(ValueError, match="cannot tune"):
        tuning.greedy_search("synthetic", "2L", splits, {"momentum": [0.9]}, epochs=1)
    with pytest.raises(ValueError, match="no hidden layer"):
        tuning.greedy_search("synthetic", "1L", splits, {"hidden": [[10]]}, epochs=1)


def test_hyperparameter_table_has_the_decays():
    table = tuning.hyperparameter_table("adl", ["1L", "2L"])
    assert list(table.index) == ["1L", "2L"] and table.index.name == "model"
    for d in ("1L", "2L"):
        hp = HYPERPARAMS[("adl", d)]
        assert table.loc[d, "alpha"] == math.exp(-hp["dt"] / hp["tau_syn"])
        assert table.loc[d, "beta"] == math.exp(-hp["dt"] / hp["tau_mem"])


def test_grid_table_counts_and_values():
    start = HYPERPARAMS[("adl", "2L")]
    grids = {"2L": {"lr": [start["lr"], 1.0], "batch_size": [7, 8]}}
    table, n_train = tuning.grid_table(grids)
    # the lr grid holds the start value (trained once), batch_size re-trains the chosen lr with 7 and 8
    assert n_train == {"2L": tuning.count_trainings(grids["2L"], start)} and n_train["2L"] == 4
    assert table.loc["lr", "2L"] == f"{start['lr']}, 1.0" and table.loc["trainings", "2L"] == "4"


def test_time_estimate_from_the_adl_timings(tmp_path):
    assert "cannot estimate" in tuning.time_estimate({"1L": 3}, 20, tmp_path / "missing.csv")
    f = tmp_path / "adl_timings.csv"
    pd.DataFrame({"model": ["1L", "2L", "1L"], "profile": ["full", "full", "quick"],
                  "seconds_per_epoch": [9.0, 18.0, 1.0]}).to_csv(f, index=False)
    # (10 trainings x 20 epochs x 9 s + 5 x 20 x 18 s) / 3600 = 1.0 hour
    assert tuning.time_estimate({"1L": 10, "2L": 5}, 20, f).startswith("about 1.0 hours")


def test_compare_chosen_and_status_without_results():
    empty = pd.DataFrame(columns=list(tuning.COLUMNS))
    compare = tuning.compare_chosen(empty, ["1L", "2L"])
    assert ("1L", "hidden") not in compare.index and ("2L", "hidden") in compare.index
    assert (compare.search == "–").all() and compare.val_nll.isna().all()
    assert compare.loc[("2L", "lr"), "book"] == f"{HYPERPARAMS[('adl', '2L')]['lr']:g}"
    assert tuning.shown(None) == "–" and tuning.shown(0.001) == "0.001" and tuning.shown([50]) == "[50]"
    assert "no earlier results (r.csv)" in tuning.status_text("show", 0, "r.csv")
    assert "3 trials on the first 2 days" in tuning.status_text("quick", 3, "r.csv", dict(max_days=2, epochs=1))
    with pytest.raises(ValueError, match="mode"):
        tuning.status_text("fast", 0, "r.csv")
