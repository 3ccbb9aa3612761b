"""Anomaly injection, the spiking detector and the localisation scores (``spikeflux.anomaly``).

Everything runs on a tiny synthetic home (two or three days built by hand), so the tests
need no raw data; one test compares :data:`HOME_SENSORS` with the real homes when the raw
files are there.
"""

import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from spikeflux import anomaly as an
from spikeflux.anomaly.injection import _hours
from spikeflux.data.adl import CLASSES, INPUTS

DAY = 86_400
SLEEPING, LEAVING, OTHER = CLASSES.index("Sleeping"), CLASSES.index("Leaving"), CLASSES.index("Other")


def _on(x, location, start, seconds):
    x[start:start + seconds, INPUTS.index(location)] = 1.0


@pytest.fixture(scope="module")
def home():
    """Three days from midnight: asleep (bed on) 00:00-08:00, out 12:00-13:00, events by day."""
    n_days = 3
    n = n_days * DAY
    x = np.zeros((n, len(INPUTS)), dtype=np.float32)
    x[:, 0] = 1.0
    y = np.full(n, OTHER, dtype=np.int64)
    h = 3600
    for d in range(n_days):
        o = d * DAY
        y[o:o + 8 * h] = SLEEPING
        _on(x, "Bed", o, 8 * h)
        y[o + 12 * h:o + 13 * h] = LEAVING
        _on(x, "Maindoor", o + 12 * h - 20, 8)
        _on(x, "Maindoor", o + 13 * h, 8)
        for k, at in enumerate((8.5, 10, 14.2, 18, 21)):
            _on(x, "Fridge", o + int(at * h), 5 + 3 * k)
        _on(x, "Seat", o + 14 * h + 600, 2 * h)
        _on(x, "Microwave", o + 19 * h, 120)
        for at in np.arange(9, 22, 0.75):
            _on(x, "Basin", o + int(at * h), 30)
    ts = np.datetime64("2020-01-06T00:00:00", "s") + np.arange(n).astype("timedelta64[s]")
    return x, y, ts


def _inject(home, subject="A", seed=0, split="test", **kw):
    x, y, ts = home
    return an.inject(x, y, ts, subject, seed, split=split, **kw)


# --------------------------------------------------------------------------- injection


def test_injection_is_seeded_and_deterministic(home):
    a, b = _inject(home, seed=3), _inject(home, seed=3)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.mask, b.mask) and np.array_equal(a.label, b.label)
    pd.testing.assert_frame_equal(a.log, b.log)
    other_seed, other_split = _inject(home, seed=4), _inject(home, seed=3, split="train")
    assert not a.log[["start", "end"]].equals(other_seed.log[["start", "end"]])
    assert not a.log[["start", "end"]].equals(other_split.log[["start", "end"]])
    assert np.array_equal(a.x_clean, home[0])  # the input is never modified in place


@pytest.mark.parametrize("subject", ["A", "B"])
def test_every_injected_cell_is_in_mask_and_log(home, subject):
    inj = _inject(home, subject)
    assert len(inj.log) > 0
    assert list(inj.log.columns) == an.LOG_COLUMNS
    assert np.array_equal(inj.mask, inj.x != inj.x_clean)
    covered = np.zeros_like(inj.mask)
    label = np.zeros_like(inj.label)
    for r in inj.log.itertuples():
        cols = [INPUTS.index(s) for s in r.sensors.split("+")]
        covered[r.start:r.end + 1, cols] = True
        label[r.start:r.end + 1] = 1
        assert inj.mask[r.start:r.end + 1].sum() == r.n_cells > 0
        assert r.duration == r.end - r.start + 1
    assert not (inj.mask & ~covered).any()  # no modified cell outside its logged rectangle
    assert np.array_equal(inj.label, label)
    assert inj.mask.sum() == inj.log.n_cells.sum()
    assert not inj.mask[:, 0].any()  # the bias is never touched
    assert set(np.unique(inj.anomaly[inj.label == 1])) == set(range(len(inj.log)))


@pytest.mark.parametrize("subject", ["A", "B"])
def test_injected_sensors_exist_in_that_home(home, subject):
    inj = _inject(home, subject)
    used = {s for sensors in inj.log.sensors for s in sensors.split("+")}
    assert used <= set(an.HOME_SENSORS[subject])
    if subject == "B":
        assert "cooktop_night" not in set(inj.log.kind)
        assert (inj.skipped[inj.skipped.kind == "cooktop_night"].reason.str.contains("no Cooktop")).all()
        assert len(inj.skipped[inj.skipped.kind == "cooktop_night"]) == 3  # one per day
    else:
        assert "cooktop_night" in set(inj.log.kind)


@pytest.mark.skipif(not os.environ.get("SPIKEFLUX_ADL_DIR"), reason="raw ADL files not configured")
def test_home_sensors_match_the_real_homes():
    from spikeflux.data import adl

    for name in ("A", "B"):
        s = adl.load_subject(name)
        fires = {INPUTS[c] for c in range(1, len(INPUTS)) if s.x[:, c].any()}
        assert fires == set(an.HOME_SENSORS[name])


@pytest.mark.parametrize("gap", [600, 1800])
def test_no_anomaly_overlaps_another(home, gap):
    inj = _inject(home, gap=gap)
    log = inj.log.sort_values("start")
    assert (log.start.to_numpy()[1:] - log.end.to_numpy()[:-1] > gap).all()


def test_kinds_land_where_they_belong(home):
    x, y, ts = home
    inj = _inject(home, "A")
    assert set(inj.log.kind) == set(an.KINDS)  # the synthetic home has room for every kind
    hours = _hours(ts)
    for r in inj.log.itertuples():
        span = slice(r.start, r.end + 1)
        kind = an.KINDS[r.kind]
        assert kind.hours[0] <= hours[r.start - (kind.when == "fridge")] < kind.hours[1]
        assert kind.duration[0] <= r.duration <= kind.duration[1]
        if kind.when == "sleep":
            assert (y[span] == SLEEPING).all() and (x[span, INPUTS.index("Bed")] == 1).all()
            assert (inj.x[span, INPUTS.index(kind.sensors[0])] == 1).all()
        elif kind.when == "fridge":  # continues a real opening
            fridge = INPUTS.index("Fridge")
            assert x[r.start - 1, fridge] == 1 and x[r.start, fridge] == 0
            assert (inj.x[span, fridge] == 1).all()
        else:
            assert (inj.x[span, 1:] == 0).all() and not np.isin(y[span], [SLEEPING, LEAVING]).any()
            assert inj.mask[span].sum() >= 60


def test_sample_weights_balance_classes_and_anomalies(home):
    inj = _inject(home)
    x, label, ids = an.concat_series([inj], window=900)
    w = an.sample_weights(label, ids)
    assert w.mean() == pytest.approx(1.0)
    assert w[label == 0].sum() == pytest.approx(w[label == 1].sum())
    per = [w[ids == k].sum() for k in np.unique(ids[ids >= 0])]
    assert np.allclose(per, per[0])
    with pytest.raises(ValueError):
        an.sample_weights(np.zeros(10, dtype=int), np.full(10, -1))


# --------------------------------------------------------------------------- detector


def test_contrast_network_outputs_the_score():
    net = an.build_detector(seed=1, hidden=[6]).double()
    x = torch.as_tensor(np.random.default_rng(0).random((1, 300, len(INPUTS))) < 0.2, dtype=torch.float64)
    u = net(x).output[0]
    c = an.contrast_network(net)(x).output[0]
    assert torch.allclose(c[:, 1], u[:, 1] - u[:, 0], atol=1e-10)
    assert torch.allclose(c[:, 0], -c[:, 1], atol=1e-10)
    with pytest.raises(ValueError):
        an.contrast_network(an.build_detector(readout="spiking"))


def test_build_detector_passes_lif_switches():
    plain = an.build_detector(seed=0, hidden=[4])
    assert plain.adaptation is None and not plain.config["recurrent"] and plain.reset == "zero"
    net = an.build_detector(seed=0, hidden=[4], adaptation=[0.99, 0.2], recurrent=True, reset="subtract",
                            surrogate_scale=10.0)
    assert net.adaptation == (0.99, 0.2) and net.config["recurrent"] and net.reset == "subtract"
    assert net.surrogate_scale == 10.0


def test_score_series_equals_one_uninterrupted_run():
    net = an.build_detector(seed=2, hidden=[8])
    x = (np.random.default_rng(1).random((20_000, len(INPUTS))) < 0.05).astype(np.float32)
    x[:, 0] = 1
    with torch.no_grad():
        u = net(torch.as_tensor(x[None])).output[0].numpy()
    ref = u[:, 1] - u[:, 0]
    s = an.score_series(net, x, n_streams=4, burn_in=1800, chunk=1000)
    assert s.shape == (len(x),)
    assert np.array_equal(s[:5000], ref[:5000])  # the first piece is the run itself
    # Later pieces start from zero 1800 s early: the currents forget that start (alpha^1800),
    # but a neuron that fires regularly on the bias keeps the phase of its spike train, so
    # the pieces agree to a small fraction of the score's range, not to round-off.
    np.testing.assert_allclose(s, ref, atol=1e-3 * np.abs(ref).max())


def test_alarms_thresholds_and_scores_by_hand():
    score = np.zeros(2000)
    score[100:110] = 5
    score[150:160] = 6  # 40 s after the first run: merged with merge=60
    score[1000:1005] = 4
    alarms = an.find_alarms(score, 1.0, merge=60)
    assert alarms.onset.tolist() == [100, 1000] and alarms.end.tolist() == [159, 1004]
    assert alarms.peak.tolist() == [150, 1000]
    assert len(an.find_alarms(score, 1.0, merge=10)) == 3
    label = (score > 0).astype(int)
    thr = an.best_f1_threshold(label, score)
    d = an.detection_scores(label, score, thr)
    assert d["precision"] == d["recall"] == d["f1"] == d["roc_auc"] == 1.0
    assert an.detection_scores(label, score, 5.5)["recall"] == pytest.approx(10 / 25)


def test_detector_pipeline_runs_on_a_tiny_home(home):
    tr, va = _inject(home, split="train", seed=0), _inject(home, split="val", seed=0)
    te = _inject(home, split="test", seed=0)
    train, val = an.concat_series([tr]), an.concat_series([va])
    train = (train[0], train[1], an.sample_weights(train[1], train[2]))
    val = (val[0], val[1], an.sample_weights(val[1], val[2]))
    net, hist, cfg = an.fit_detector(train, val, seed=0, max_epochs=1, hidden=[4], batch_size=64)
    assert len(hist.val_loss) == 1 and np.isfinite(hist.val_loss[0]) and cfg.seed == 0
    score = an.score_series(net, te.x)
    assert score.shape == te.label.shape and np.isfinite(score).all()
    thr = an.best_f1_threshold(te.label, score)
    d = an.detection_scores(te.label, score, thr)
    assert 0 <= d["precision"] <= 1 and 0 <= d["roc_auc"] <= 1
    det = an.per_anomaly_detection(te, score, thr)
    assert len(det) == len(te.log) and det.detected.dtype == bool
    alarms = an.match_alarms(an.find_alarms(score, thr), te)
    assert set(alarms.columns) >= {"onset", "anomaly", "true", "kind"}
    assert (alarms.true == (alarms.anomaly >= 0)).all()
    # explain the score at the end of the first anomaly; LRP conserves it
    r = te.log.iloc[0]
    t = int(r.end)
    e = an.explain_alarm(an.contrast_network(net).double(), te.x, t, window=600, history=1200)
    assert tuple(e.attribution.shape) == (len(INPUTS), 600)
    led = e.ledger
    assert float(led.global_residual_relative) < 1e-10
    assert e.logit == pytest.approx(score[t], rel=1e-3, abs=1e-3)
    m = an.window_mask(te.mask, t, e.window)
    scores = an.localisation(e.attribution.numpy(), m, r.sensors.split("+"))
    assert set(scores) == set(an.LOCALISATION_METRICS)


# --------------------------------------------------------------------------- localisation


def test_window_mask_is_aligned_with_the_map():
    mask = np.zeros((50, len(INPUTS)), dtype=bool)
    mask[40, 3] = True
    mask[5, 7] = True
    m = an.window_mask(mask, 45, 10)
    assert m.shape == (len(INPUTS), 10) and m[3, 10 - 1 - 5] and m.sum() == 1
    early = an.window_mask(mask, 6, 10)  # reaches before the series start
    assert early[7, 10 - 1 - 1] and early[:, :3].sum() == 0


def test_localisation_is_one_for_a_perfect_map_and_lower_shuffled():
    rng = np.random.default_rng(0)
    mask = np.zeros((len(INPUTS), 300), dtype=bool)
    mask[INPUTS.index("Fridge"), 200:260] = True
    perfect = np.where(mask, rng.uniform(0.5, 1.0, mask.shape), 0.0)
    good = an.localisation(perfect, mask, ["Fridge"])
    assert all(v == pytest.approx(1.0) for v in good.values())
    shuffled = rng.permutation(perfect.ravel()).reshape(perfect.shape)
    bad = an.localisation(shuffled, mask, ["Fridge"])
    for name, (higher_is_better, _) in an.LOCALISATION_METRICS.items():
        assert higher_is_better and bad[name] < good[name] - 0.5, name
    with pytest.raises(ValueError):
        an.localisation(perfect[:, :10], mask, ["Fridge"])


# --------------------------------------------------------------------------- package pieces


def test_a_kind_applies_itself_and_refuses_unknown_rules():
    x = np.zeros((10, len(INPUTS)), dtype=np.float32)
    x[:, 0], x[:, INPUTS.index("Bed")] = 1, 1
    an.KINDS["microwave_night"].apply(x, 2, 4)
    assert x[:, INPUTS.index("Microwave")].tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    an.KINDS["no_motion"].apply(x, 3, 8)
    assert (x[3:9, 1:] == 0).all() and (x[:, 0] == 1).all() and x[2, INPUTS.index("Bed")] == 1
    assert an.KINDS["cooktop_night"].missing(an.HOME_SENSORS["B"]) == ["Cooktop"]
    with pytest.raises(ValueError, match="unknown placement 'moon'"):
        an.AnomalyKind("x", (), "moon", (0, 1), (1, 2), "add", "")
    with pytest.raises(ValueError, match="unknown effect 'paint'"):
        an.AnomalyKind("x", (), "home", (0, 1), (1, 2), "paint", "")


def test_detector_table_gives_the_decays_of_snn():
    from spikeflux.snn import decays

    alpha, beta = decays(1.0, 60.0, 10.0)
    assert alpha == np.exp(-1 / 60) and beta == np.exp(-1 / 10)
    table = an.detector_table(max_epochs=3, patience=2)["value"]
    assert table["alpha"] == alpha and table["beta"] == beta and table["max_epochs"] == 3
    with pytest.raises(ValueError, match="tau_syn must be positive"):
        decays(1.0, 0.0, 1.0)


def test_boundary_profile_reads_the_flux_and_choose_window_the_first_below_the_level():
    class Ledger:
        flux = torch.tensor([1e-4, 2e-3, 0.5, 1.0])  # slices t* - 3 .. t*
        relevance_init = torch.tensor(-2.0)

    class E:
        ledger = Ledger()

    p = an.boundary_profile(E(), np.arange(1, 6))
    np.testing.assert_allclose(p[:4], [0.5, 0.25, 1e-3, 5e-5], rtol=1e-6)
    assert np.isnan(p[4])  # longer than the long window
    window, worst = an.choose_window(np.array([p, p / 10]), [1, 2, 3, 4])
    assert window == 3 and worst[3] == pytest.approx(1e-3)


def test_runner_up_contrast_explains_the_score_as_the_contrast_network_does():
    net = an.build_detector(seed=1, hidden=[6]).double()
    x = (np.random.default_rng(0).random((400, len(INPUTS))) < 0.2).astype(np.float64)
    x[:, 0] = 1
    with torch.no_grad():
        u = net(torch.as_tensor(x[None, 100:])).output[0, -1]  # the excerpt: 300 s from a zero state
    for method in ("integrated-gradients", "lrp-epsilon"):
        a = an.explain_alarm(net, x, 399, method, window=100, history=300, contrast="runner-up")
        b = an.explain_alarm(an.contrast_network(net), x, 399, method, window=100, history=300)
        assert a.info["explained_value"] == pytest.approx(float(u[1] - u[0]), rel=1e-9, abs=1e-9)
        tol = 1e-9 if method == "integrated-gradients" else 1e-3  # LRP-eps: the stabilisers differ
        np.testing.assert_allclose(a.attribution.numpy(), b.attribution.numpy(),
                                   atol=tol * float(np.abs(b.attribution.numpy()).max()))
    assert float(a.ledger.relevance_init) == pytest.approx(float(u[1] - u[0]), rel=1e-9)


def test_false_alarm_facts_and_intro():
    inj = SimpleNamespace(y=np.array([CLASSES.index("Sleeping"), CLASSES.index("Other")]),
                          timestamps=np.array(["2011-12-01T03:00:00", "2011-12-01T03:00:01"], dtype="datetime64[s]"))
    alarm = SimpleNamespace(subject="A", onset=0)
    long_run = dict(channel="Bed", share=0.8, run=900, typical=300.0)
    facts = an.false_alarm_facts(alarm, inj, long_run, CLASSES)
    assert set(facts) == set(an.FALSE_ALARM_FACTS)
    assert facts["time"] == "2011-12-01 03:00:00" and facts["activity"] == "during a Sleeping label"
    assert facts["top-share"] == "80%" and facts["run"] == "900" and facts["typical"] == "300"
    assert facts["reading"].startswith("an unusually long but harmless Bed event") and "context" not in facts["reading"]
    off = an.false_alarm_facts(SimpleNamespace(subject="B", onset=1), inj,
                               dict(channel="Door", share=0.5, run=0, typical=np.nan), CLASSES)
    assert off["activity"] == "in a second no activity label covers" and off["typical"] == "–"
    assert off["reading"] == ("Door events in the minutes before the alarm (the channel is off at the alarm itself), "
                              "in a context the detector associates with the injected anomalies")
    assert an.false_alarm_intro(0).startswith("There is no false alarm")
    assert an.false_alarm_intro(1) == "The detector raises a single false alarm on the test days."
    assert an.false_alarm_intro(3).startswith("The detector raises 3 false alarms")
