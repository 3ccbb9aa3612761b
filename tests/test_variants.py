"""The LIF variants of the beyond-LIF chapter (spikeflux.variants): switches and line-ups, training from
scratch (fresh weights from the seed, one budget for every model, a smoke training), the accuracy and
evaluation tables, ledger residuals and budgets; known answers on hand-made inputs."""

import math
from dataclasses import asdict
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from spikeflux import models, tasks, variants
from spikeflux.training import TrainConfig


def test_switches_alif_decay():
    sw = variants.switches(1e-3)
    assert list(sw) == ["recurrent", "ALIF", "subtract reset", "leaky readout"]
    rho, gamma = sw["ALIF"]["adaptation"]
    assert rho == math.exp(-1e-3 / 20e-3) and gamma == 0.2


def test_lineup_leaves_out_what_the_task_model_already_has():
    assert list(variants.lineup("synthetic")) == ["plain LIF", "recurrent", "ALIF", "subtract reset", "leaky readout"]
    # the cue models have a leaky readout already: that variant is the plain model
    assert list(variants.lineup("cue")) == ["plain LIF", "recurrent", "ALIF", "subtract reset"]
    assert variants.lineup("cue")["plain LIF"] == {}


@pytest.mark.parametrize("task", ["synthetic", "cue"])
def test_fresh_weights_from_the_seed(task):
    for name, sw in variants.lineup(task).items():
        a, b = models.build(task, "2L", seed=3, **sw), models.build(task, "2L", seed=3, **sw)
        assert all(torch.equal(w, v) for w, v in zip(a.parameters(), b.parameters())), name  # same seed, same net
        other = models.build(task, "2L", seed=4, **sw)
        assert not torch.equal(a.weights[0], other.weights[0]), name  # another seed, other weights
        # on one seed every variant starts from the plain model's feed-forward weights
        plain = models.build(task, "2L", seed=3)
        assert all(torch.equal(w, v) for w, v in zip(a.weights, plain.weights)), name
    rec = models.build(task, "2L", seed=3, recurrent=True)
    n_hidden = models.HYPERPARAMS[(task, "2L")]["hidden"][0]
    assert [tuple(v.shape) for v in rec.recurrent_weights] == [(n_hidden, n_hidden)]
    assert float(rec.recurrent_weights[0].detach().abs().max()) > 0  # drawn, not zero: trained from scratch


@pytest.mark.parametrize("task", ["synthetic", "cue"])
def test_the_budget_is_the_same_for_every_model(task):
    configs = {name: asdict(models.train_config(task, "2L", seed=1, max_epochs=7, patience=3, **sw))
               for name, sw in variants.lineup(task).items()}
    hp = models.HYPERPARAMS[(task, "2L")]
    expected = asdict(TrainConfig(lr=hp["lr"], batch_size=hp["batch_size"], window=900, max_epochs=7, patience=3,
                                  min_delta=0.0, seed=1))  # the schedule options at their defaults (off)
    assert all(c == expected for c in configs.values()), configs


def test_train_lineup_smoke(tmp_path):
    torch.set_num_threads(1)
    _, splits = tasks.synthetic(n_steps=12_000, seed=123)
    # small batches of short windows so that a tiny series gives a few updates; the same for both models
    small = dict(batch_size=4, window=200)
    lineup = {"plain LIF": small, "recurrent": dict(recurrent=True, **small)}
    rows, timing = variants.train_lineup("synthetic", splits, lineup, seeds=(0, 1), max_epochs=1, patience=1,
                                         root=tmp_path)
    assert [(r["model"], r["seed"], r["epochs"]) for r in rows] == [
        ("plain LIF", 0, 1), ("plain LIF", 1, 1), ("recurrent", 0, 1), ("recurrent", 1, 1)]
    assert all(0 <= r["low"] <= r["ba"] <= r["high"] <= 1 for r in rows)
    assert len(timing) == 4 and all(t["seconds_per_epoch"] > 0 for t in timing)
    nets = {(n, s): variants.load("synthetic", n, s, root=tmp_path) for n in lineup for s in (0, 1)}
    assert all(net.dtype == torch.float64 for net in nets.values())
    assert nets[("recurrent", 0)].config["recurrent"] and not nets[("plain LIF", 0)].config["recurrent"]
    fresh = models.build("synthetic", "2L", seed=0)
    assert not torch.equal(nets[("plain LIF", 0)].weights[0].float(), fresh.weights[0])  # it was trained
    configs = [dict(net.metadata["train_config"]) for net in nets.values()]
    assert all({k: v for k, v in c.items() if k != "seed"} == {k: v for k, v in configs[0].items() if k != "seed"}
               for c in configs)
    # the saved accuracy is the one reported
    assert nets[("recurrent", 1)].metadata["test_balanced_accuracy"] == [rows[3]["ba"], rows[3]["low"], rows[3]["high"]]
    again, _ = variants.train_lineup("synthetic", splits, {"plain LIF": small}, seeds=(0,), max_epochs=1, patience=1,
                                     root=tmp_path / "again")
    assert again[0]["ba"] == rows[0]["ba"]  # deterministic
    with pytest.raises(FileNotFoundError, match="train_lineup"):
        variants.load("synthetic", "ALIF", 0, root=tmp_path)


def test_learned_and_the_accuracy_table():
    rows = [dict(task="cue", model="plain LIF", seed=0, ba=0.9, low=0.8, high=0.95),
            dict(task="cue", model="plain LIF", seed=1, ba=0.7, low=0.6, high=0.8),
            dict(task="cue", model="ALIF", seed=0, ba=0.9, low=0.85, high=0.95),
            dict(task="cue", model="ALIF", seed=1, ba=0.34, low=0.30, high=0.38),  # at chance on seed 1
            dict(task="synthetic", model="plain LIF", seed=0, ba=0.3, low=0.26, high=0.34)]
    assert variants.learned(rows, {"cue": 3, "synthetic": 4}) == {
        ("cue", "plain LIF"): True, ("cue", "ALIF"): False, ("synthetic", "plain LIF"): True}
    table = variants.accuracy_table(rows)
    assert list(table.index) == ["plain LIF", "ALIF"]
    assert table.loc["plain LIF", ("cue", "seed 1")] == "0.700 [0.600, 0.800]"
    assert table.loc["plain LIF", ("cue", "mean")] == "0.800"
    assert table.loc["ALIF", ("synthetic", "mean")] == "—"  # not trained there


def test_mark_unlearned_and_best_methods():
    summary = pd.DataFrame(dict(dataset=["cue", "cue"], model=["plain LIF", "ALIF"], value=[0.1, 0.2]))
    verdicts = {("cue", "plain LIF", "ess", np.nan): dict(best=["lrp-epsilon", "saliency"], beats_random=[]),
                ("cue", "ALIF", "ess", np.nan): dict(best=["tsa-ns"], beats_random=[]),
                ("synthetic", "ALIF", "ess", np.nan): dict(best=["sam"], beats_random=[])}
    ok = {("cue", "plain LIF"): True, ("cue", "ALIF"): False, ("synthetic", "ALIF"): False}
    s, v = variants.mark_unlearned(summary, verdicts, ok)
    assert list(s.model) == ["plain LIF", "ALIF (chance)"] and list(summary.model) == ["plain LIF", "ALIF"]
    assert ("cue", "ALIF (chance)", "ess") == next(k for k in v if k[1].startswith("ALIF"))[:3]
    assert variants.best_methods(v, "ess") == {"cue": "plain LIF: lrp-epsilon, saliency",
                                               "synthetic": "no model learned"}
    v[("cue", "plain LIF", "ess", np.nan)]["beats_random"] = ["lrp-epsilon"]
    assert variants.null_methods(v, "ess", ["lrp-epsilon", "saliency"]) == {"cue": "plain LIF: saliency",
                                                                           "synthetic": "no model learned"}
    assert variants.null_methods(v, "ess", ["lrp-epsilon"])["cue"] == "none"


def test_delay_shift_known_answer():
    idx = pd.MultiIndex.from_tuples([("plain LIF", "lrp"), ("plain LIF", "sal"), ("ALIF", "lrp"), ("ALIF", "sal")],
                                    names=["model", "method"])
    by_delay = pd.DataFrame({"20-79": [0.5, 0.4, 0.6, 0.4], "140-200": [0.2, 0.1, 0.5, 0.0]}, index=idx)
    shift = variants.delay_shift(by_delay)
    np.testing.assert_allclose(shift.loc[("ALIF", "lrp")].to_numpy(), [0.1, 0.3, 0.2])
    np.testing.assert_allclose(shift.loc[("ALIF", "sal")].to_numpy(), [0.0, -0.1, -0.1])
    assert list(shift.columns) == ["Δ 20-79", "Δ 140-200", "Δ (far − near)"]
    text = variants.describe_shift(shift)
    assert "ALIF +0.050 and +0.100" in text and "20-79 steps" in text
    assert "nothing can be compared" in variants.describe_shift(shift.iloc[:0])


def _ledger(r, mass, glob, cont):
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return SimpleNamespace(relevance_init=t(r), relevance_mass=t(mass), global_residual=t(glob),
                           continuity_residual=t(cont))


def test_residuals_relative_to_mass_and_init():
    led = _ledger([2.0, -4.0], [4.0, 8.0], [1e-13, -4e-13], [[1e-14, 2e-13], [0.0, -8e-13]])
    res = variants.residuals(led)
    assert res["global_vs_mass"] == pytest.approx(0.5e-13)
    assert res["slice_vs_mass"] == pytest.approx(1e-13)
    assert res["global_vs_init"] == pytest.approx(1e-13)
    assert res["slice_vs_init"] == pytest.approx(2e-13)
    # nothing moved (R_init = 0, mass 0, residual 0): ratio 0, not NaN
    assert variants.residuals(_ledger([0.0], [0.0], [0.0], [[0.0]]))["global_vs_init"] == 0.0


def test_sink_budget_shares():
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    # two targets, the second with R_init = 0 (left out); one hidden neuron, window 2
    led = SimpleNamespace(relevance_init=t([2.0, 0.0]), absorbed=t([1.5, 0.0]),
                          sinks={"boundary": t([0.5, 0.0])},
                          node_relevance={"S1": t([[[1.0, 1.0]], [[0.0, 0.0]]]), "U1": t([[[-1.0, 3.0]], [[0, 0]]])},
                          attribution_negative=t([-0.5, 0.0]), relevance_mass=t([6.0, 0.0]))
    shares = variants.sink_budget(led)
    assert shares == {"absorbed": 0.75, "boundary": 0.25, "through hidden spikes": 1.0,
                      "negative share of moved": pytest.approx((1.0 + 0.5) / 6.0)}


def test_threshold_summary_on_a_hand_made_explanation():
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    # two targets (the second with R_init = 0, left out); window 4; one threshold node B1 of one neuron
    led = SimpleNamespace(relevance_init=t([2.0, 0.0]), relevance_mass=t([6.0, 0.0]), global_residual=t([0.0, 0.0]),
                          continuity_residual=t([[0.0] * 4, [0.0] * 4]),
                          flux=t([[0.0, 1e-4, 0.1, 1.0], [0.0] * 4]),  # lag 1 last: reach 0.5, 0.05, 5e-5, 0
                          node_relevance={"B1": t([[[-0.5, -0.5]], [[0.0, 0.0]]]), "S1": t([[[9.0, 9.0]], [[0, 0]]])},
                          amplification=t([3.0, 1.0]))
    led.reach_profile = lambda: (led.flux[:1].abs() / 2.0).mean(0).numpy()[::-1]
    A = np.zeros((2, 1, 4))
    A[0, 0, 3] = 1.0  # all at lag 0
    e = SimpleNamespace(ledger=led, attribution=torch.as_tensor(A))
    row, reach = variants.threshold_summary(e, 4, path=True)
    np.testing.assert_allclose(reach, [0.5, 0.05, 5e-5, 0.0])
    assert row["flux_lag_1e3"] == 3 and row["relevance_via_b"] == -0.5 and row["amplification"] == 3.0
    assert row["support_lag_99"] == 1.0  # all of it within lag < 1
    assert variants.threshold_summary(e, 4, path=False)[0]["relevance_via_b"] == 0.0
    led.flux = t([[1.0, 1.0, 1.0, 1.0], [0.0] * 4])
    assert variants.threshold_summary(e, 4, path=True)[0]["flux_lag_1e3"] == 4  # never below 1e-3: the window
