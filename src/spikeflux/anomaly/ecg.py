r"""A real labelled anomaly: the spiking detector on an ECG recording (:func:`spikeflux.tasks.mitdb`).

One real anomaly cannot train a supervised detector, so the detector of
:mod:`~spikeflux.anomaly.detector` (the same network and loss, ``n_in = 3``: bias, delta up,
delta down) is trained on the first, anomaly-free part of the recording with seeded *injected*
generic ECG anomalies (:data:`ECG_KINDS`: a segment shifted in time, its amplitude scaled, a
flat line, a noise burst; generic kinds chosen before looking at the test anomaly, not tailored
to it), thresholded on the validation part with its own injected anomalies, and tested on the
untouched final part that holds the labelled span (:func:`run_seed`). The true alarms (those
overlapping the labelled span) are explained at their onset and scored by the share of
:math:`|A|` on the span's steps in the window against the share of the window the span occupies
(:func:`span_localisation`).

Everything is seeded by one integer per detector (injections ``default_rng([seed, split code,
copy])``, weights ``seed``); nothing is pickled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.mitdb import EcgTask
from .alarms import find_alarms, match_alarms
from .detector import best_f1_threshold, detection_scores, fit_detector, sample_weights, score_series
from .explanation import explain_alarm
from .injection import SPLIT_CODES

__all__ = ["EcgKind", "ECG_KINDS", "ECG_DETECTOR", "EcgInjection", "inject_ecg", "injected_parts",
           "training_series", "real_span", "span_mask", "span_localisation", "EcgRun", "run_seed", "detection_summary",
           "localisation_summary", "POINTS", "kinds_table", "chapter_texts", "WINDOW", "HISTORY", "MERGE"]


@dataclass(frozen=True)
class EcgKind:
    """A generic ECG anomaly: a segment of ``lengths`` steps (drawn uniformly, both inclusive) rewritten
    by ``effect(clean, s, e, rng, sd) -> (e - s + 1,)`` from the clean values; ``sd`` is the training
    part's standard deviation."""

    name: str
    lengths: tuple[int, int]
    effect: Callable
    description: str


def _shift(v, s, e, rng, sd):
    d = int(rng.integers(15, 41)) * int(rng.choice([-1, 1]))
    return v[s - d:e + 1 - d]  # x'[t] = x[t - d]: the segment moved by d steps


def _scale(v, s, e, rng, sd):
    seg = v[s:e + 1]
    k = rng.uniform(0.3, 0.5) if rng.random() < 0.5 else rng.uniform(1.8, 2.5)
    return np.median(seg) + k * (seg - np.median(seg))


def _flat(v, s, e, rng, sd):
    return np.full(e - s + 1, v[s])


def _noise(v, s, e, rng, sd):
    return v[s:e + 1] + rng.normal(0.0, rng.uniform(0.5, 1.0) * sd, e - s + 1)


#: the injected kinds (lengths in steps of the downsampled series; a beat is about 100 steps)
ECG_KINDS: dict[str, EcgKind] = {k.name: k for k in (
    EcgKind("time_shift", (40, 100), _shift, "the segment replaced by the signal 15-40 steps earlier or later"),
    EcgKind("amplitude", (40, 100), _scale, "the segment scaled about its median by 0.3-0.5 or 1.8-2.5"),
    EcgKind("flatline", (30, 90), _flat, "the segment held at its first value (a dropout)"),
    EcgKind("noise_burst", (20, 60), _noise, "Gaussian noise of 0.5-1 training standard deviations added"),
)}
#: steps kept between injected anomalies, and between an anomaly and the edge of its region (> the largest shift)
GAP, EDGE = 50, 45

#: steps: the explained window (two beats), the excerpt it is simulated over, and the merge / match tolerance of alarms
WINDOW, HISTORY, MERGE = 200, 400, 50

#: the ECG detector: :data:`~spikeflux.anomaly.detector.DETECTOR` with time constants in steps of the
#: downsampled series (a beat is about 100 steps: synapses remember a fifth of it) and shorter windows
#: (set on the validation part's injected anomalies: 64 hidden neurons and weight scale 1 gave the best validation
#: ROC AUC of a few settings tried; the test part was not looked at). Longer memory did not raise the validation
#: ROC AUC over seeds 0-2 either (tau_syn 60 or 100, ALIF adaptation (rho, gamma) = (0.99, 0.2), (0.995, 0.5),
#: (0.99, 1.0), recurrent synapses, subtract reset, two layers [32, 32], surrogate scale 10, 16 training copies,
#: batch 4, window 100, 60 epochs, weight scale 0.05-0.3, a time shift labelled on to the next beat): no try's
#: mean over the three seeds beat this setting's (0.63; seeds 0.49-0.72) by more than the seed-to-seed spread,
#: on the profile's validation copies nor on 12 further injected copies of the validation part.
#: A second round (23 settings, seeds 0-2, validation only) aimed at the few Adam updates (3 an epoch) and the leaky
#: readout's gain 1/((1-alpha)(1-beta)) ~ 200 (first-epoch train loss up to 37 against log 2 ~ 0.69): windows of 50-100
#: steps with 16-32 training copies and 60 epochs (patience 10), lr 1e-3 or 3e-4, the readout's initial weights scaled
#: by 0.05-0.1 and a spiking readout alone stayed at or below this setting (means 0.44-0.62). Shorter time constants
#: (lower gain: tau_syn 10, tau_mem 1-5; or 5 and 2) raised every seed-2 run (0.59-0.68 against 0.49) and the means to
#: 0.64-0.70 (best tau_syn 10, tau_mem 2: 0.69 with this window and budget, 0.70 with window 50, 32 copies, lr 1e-3),
#: but cost 0.05-0.10 on seed 0 and stayed short of the +0.08 over the mean asked for a change of the default (tau_syn
#: 20 with tau_mem 2: 0.60). On 12 further validation copies the same: base 0.60, shorter time constants 0.64-0.67.
ECG_DETECTOR: dict = dict(hidden=[64], dt=1.0, tau_syn=20.0, tau_mem=10.0, readout="leaky", weight_scale=1.0,
                          lr=5e-3, batch_size=16, window=250)


def kinds_table() -> pd.DataFrame:
    """The injected ECG kinds: lengths in steps and what each does."""
    return pd.DataFrame([dict(kind=k.name, steps=f"{k.lengths[0]}-{k.lengths[1]}", effect=k.description)
                         for k in ECG_KINDS.values()]).set_index("kind")


@dataclass(frozen=True)
class EcgInjection:
    """A series with injected anomalies: ``values`` and ``clean`` ``(n,)``, ``label`` ``(n,)`` (1 from an
    anomaly's start to its end), ``anomaly`` ``(n,)`` (its row of ``log``, -1 outside) and ``log`` (``kind,
    start, end, n_changed``), the duck type :func:`~spikeflux.anomaly.alarms.match_alarms` reads."""

    values: np.ndarray
    clean: np.ndarray
    label: np.ndarray
    anomaly: np.ndarray
    log: pd.DataFrame
    skipped: int = 0


def inject_ecg(values: np.ndarray, rng: np.random.Generator, n: int, region: tuple[int, int], sd: float,
               kinds=None) -> EcgInjection:
    """Up to ``n`` anomalies in ``values[region[0]:region[1]]``, kinds in turn in a random order, each at
    least :data:`GAP` steps from the others and :data:`EDGE` from the region's ends; a start is uniform
    among the valid ones, an anomaly with none is counted in ``skipped``. Raises if an anomaly changes
    no value (the ground truth would be empty)."""
    clean = np.asarray(values, dtype=np.float64)
    out, occupied, rows, skipped = clean.copy(), np.zeros(len(clean), bool), [], 0
    names = list(kinds or ECG_KINDS)
    order = [names[i] for i in rng.permutation(len(names))]
    for i in range(n):
        kind = ECG_KINDS[order[i % len(order)]]
        length = int(rng.integers(kind.lengths[0], kind.lengths[1] + 1))
        lo, hi = region[0] + EDGE, region[1] - EDGE - length
        cand = [s for s in range(lo, hi + 1) if not occupied[max(0, s - GAP):s + length + GAP].any()]
        if not cand:
            skipped += 1
            continue
        s = int(rng.choice(cand))
        e = s + length - 1
        out[s:e + 1] = kind.effect(clean, s, e, rng, sd)
        occupied[s:e + 1] = True
        changed = int((out[s:e + 1] != clean[s:e + 1]).sum())
        if changed == 0:
            raise ValueError(f"injected {kind.name} at steps {s}..{e} changed no value")
        rows.append(dict(kind=kind.name, start=s, end=e, n_changed=changed))
    log = pd.DataFrame(rows, columns=["kind", "start", "end", "n_changed"]).sort_values("start", ignore_index=True)
    label, anomaly = np.zeros(len(clean), np.int64), np.full(len(clean), -1, np.int64)
    for j, r in enumerate(log.itertuples()):
        label[r.start:r.end + 1], anomaly[r.start:r.end + 1] = 1, j
    return EcgInjection(out, clean, label, anomaly, log, skipped)


def injected_parts(task: EcgTask, split: str, seed: int, copies: int, per_copy: int,
                   region: tuple[int, int] | None = None) -> list[EcgInjection]:
    """``copies`` injected copies of the whole recording, anomalies only inside ``region`` (steps; default
    the ``split``'s bounds), ``per_copy`` each; copy ``k`` drawn with ``default_rng([seed, split code, k])``."""
    lo, hi = region or task.bounds[split]
    t_lo, t_hi = task.bounds["train"]
    sd = float(np.std(task.values[t_lo:t_hi]))
    return [inject_ecg(task.values, np.random.default_rng([int(seed), SPLIT_CODES[split], k]), per_copy, (lo, hi), sd)
            for k in range(copies)]


def training_series(task: EcgTask, parts: list[EcgInjection], split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, label, weight)`` for :func:`~spikeflux.anomaly.detector.train_detector`: the ``split`` part of every
    injected copy, encoded (:meth:`EcgTask.encode` of the whole copy), end to end; weights by
    :func:`~spikeflux.anomaly.detector.sample_weights` (every anomaly weighs the same)."""
    lo, hi = task.bounds[split]
    xs, ys, ids, offset = [], [], [], 0
    for p in parts:
        xs.append(task.encode(p.values)[lo:hi]), ys.append(p.label[lo:hi])
        ids.append(np.where(p.anomaly[lo:hi] >= 0, p.anomaly[lo:hi] + offset, -1))
        offset += len(p.log)
    label, ids = np.concatenate(ys), np.concatenate(ids)
    return np.concatenate(xs), label, sample_weights(label, ids)


def real_span(task: EcgTask) -> EcgInjection:
    """The labelled span of the recording as an :class:`EcgInjection` (kind ``"labelled"``, nothing changed)."""
    first, last = task.span
    log = pd.DataFrame([dict(kind="labelled", start=first, end=last, n_changed=0)])
    return EcgInjection(task.values, task.values, task.label, np.where(task.label > 0, 0, -1), log)


def span_mask(t: int, window: int, span: tuple[int, int], n_in: int) -> np.ndarray:
    """``(n_in, window)``: True in the columns of the ``window`` steps ending at ``t`` that lie in ``span``
    (first, last; inclusive), every row (the span is labelled in time, not per channel)."""
    steps = np.arange(t - window + 1, t + 1)
    return np.repeat(((steps >= span[0]) & (steps <= span[1]))[None], n_in, axis=0)


def span_localisation(A: np.ndarray, mask: np.ndarray) -> dict:
    """How much of a map ``A`` ``(n_in, w)`` lies on the labelled cells ``mask``: ``span_share`` (of :math:`|A|`),
    ``positive_share`` (of the positive part) and ``chance`` (the share of cells in the mask: the expected
    ``span_share`` of a map that ignores time). NaN shares for an all-zero map (resp. no positive part)."""
    A, mask = np.asarray(A, dtype=float), np.asarray(mask, dtype=bool)
    if A.shape != mask.shape:
        raise ValueError(f"map and mask differ in shape: {A.shape} != {mask.shape}")
    total, pos = np.abs(A).sum(), np.clip(A, 0, None)
    return dict(span_share=float(np.abs(A[mask]).sum() / total) if total > 0 else float("nan"),
                positive_share=float(pos[mask].sum() / pos.sum()) if pos.sum() > 0 else float("nan"),
                chance=float(mask.mean()))


@dataclass
class EcgRun:
    """One detector seed on the ECG: the network, its history and threshold, the anomaly score over the whole
    clean recording ``score`` ``(n,)``, the detection rows, the test alarms and the localisation rows."""

    seed: int
    net: object
    hist: object
    tau: float
    score: np.ndarray
    detection: pd.DataFrame
    alarms: pd.DataFrame
    localisation: pd.DataFrame
    train_seconds: float
    explain_seconds: dict = field(default_factory=dict)


def _scores(net, parts: list[EcgInjection], task: EcgTask, lo: int, hi: int):
    s = [score_series(net, task.encode(p.values), n_streams=1, burn_in=0, chunk=len(p.values))[lo:hi] for p in parts]
    return np.concatenate([p.label[lo:hi] for p in parts]), np.concatenate(s)


def run_seed(task: EcgTask, seed: int, *, train_copies: int, val_copies: int, test_copies: int, per_copy: int,
             max_epochs: int, patience: int, methods, window: int = WINDOW, history: int = HISTORY, merge: int = MERGE,
             device=None) -> EcgRun:
    """Train, threshold, test, raise alarms and explain the true ones, for one seed (module docstring).

    The detector trains on ``train_copies`` injected copies of the training part (``per_copy`` anomalies each)
    and stops early on ``val_copies`` of the validation part; :math:`\\tau` maximises the per-step F1 there.
    Test rows: the real span on the clean test part, and ``test_copies`` copies of the test part with
    anomalies injected before the labelled span only (scored on those steps). Each copy is scored from the
    recording's start, so a part has its real history. Alarms: :func:`find_alarms` with onsets in the test part
    (``merge`` steps); an alarm is true when its onset lies in the span or at most ``merge`` steps after it
    (:func:`~spikeflux.anomaly.alarms.match_alarms`, the ADL rule), and each is explained at its onset over ``window``
    steps (excerpt of ``history``) with every method of ``methods`` (``"random"``: seeded Gaussian maps); so is the
    step of the span with the highest score (``"span peak"``, explained whether or not it raised an alarm).
    """
    lo, hi = task.bounds["test"]
    first, last = task.span
    train = training_series(task, injected_parts(task, "train", seed, train_copies, per_copy), "train")
    val_parts = injected_parts(task, "val", seed, val_copies, max(1, per_copy // 3))
    val = training_series(task, val_parts, "val")
    t0 = time.perf_counter()
    net, hist, _ = fit_detector(train, val, seed=seed, max_epochs=max_epochs, patience=patience, device=device,
                                n_in=len(task.inputs), **ECG_DETECTOR)
    train_seconds = time.perf_counter() - t0
    net = net.cpu()
    tau = best_f1_threshold(*_scores(net, val_parts, task, *task.bounds["val"]))
    score = score_series(net, task.x, n_streams=1, burn_in=0, chunk=len(task.x))
    test_parts = injected_parts(task, "test", seed, test_copies, 2, region=(lo, first - GAP))
    rows = {"validation, injected": detection_scores(*_scores(net, val_parts, task, *task.bounds["val"]), tau),
            "test, the labelled span": detection_scores(task.label[lo:hi], score[lo:hi], tau),
            "test, injected (before the span)": detection_scores(*_scores(net, test_parts, task, lo, first - GAP), tau)}
    detection = pd.DataFrame(rows).T.assign(seed=seed)
    alarms = find_alarms(score, tau, merge=merge)
    alarms = match_alarms(alarms[alarms.onset >= lo].reset_index(drop=True), real_span(task), tolerance=merge)
    peak = first + int(np.argmax(score[first:last + 1]))
    points = [("alarm onset", int(a.onset)) for a in alarms[alarms.true].itertuples()] + [("span peak", peak)]
    loc, seconds = [], {m: [] for m in methods}
    dnet = net.double()
    for k, (at, t) in enumerate(points):
        for m in methods:
            t1 = time.perf_counter()
            if m == "random":
                A = np.random.default_rng([seed, 7, k]).normal(size=(len(task.inputs), min(window, t + 1)))
            else:
                A = explain_alarm(dnet, task.x, t, m, window=window, history=history,
                                  contrast="runner-up").attribution.numpy()
            seconds[m].append(time.perf_counter() - t1)
            mask = span_mask(t, A.shape[1], task.span, len(task.inputs))
            loc.append(dict(seed=seed, at=at, step=t, score=float(score[t]), method=m, **span_localisation(A, mask)))
    localisation = pd.DataFrame(loc, columns=["seed", "at", "step", "score", "method", "span_share", "positive_share",
                                              "chance"])
    return EcgRun(seed, net.float(), hist, tau, score, detection, alarms, localisation, train_seconds,
                  {m: float(np.mean(v)) if v else float("nan") for m, v in seconds.items()})


def detection_summary(runs: list[EcgRun]) -> pd.DataFrame:
    """The detection rows of every seed, averaged per row (columns as
    :func:`~spikeflux.anomaly.detector.detection_scores`, ``seconds`` renamed ``steps``, plus ``seeds``)."""
    rows = pd.concat([r.detection.rename_axis("set").reset_index() for r in runs], ignore_index=True)
    metrics = ["precision", "recall", "f1", "roc_auc", "average_precision", "positives", "seconds"]
    out = rows[["set"]].join(rows[metrics].astype(float)).groupby("set", sort=False).mean()  # NaNs skipped
    return out.rename(columns={"seconds": "steps"}).assign(seeds=len(runs))


#: the explained steps of :func:`run_seed`, in table order
POINTS = ("alarm onset", "span peak")


def localisation_summary(runs: list[EcgRun], methods) -> pd.DataFrame:
    """Per explained step (:data:`POINTS`) and method, over every seed: the mean ``span_share``,
    ``positive_share`` and ``chance``, their ratio ``lift = span_share / chance`` and the number of maps
    (index ``(at, method)`` in that order; rows without maps are kept with NaN)."""
    loc = pd.concat([r.localisation for r in runs], ignore_index=True)
    index = pd.MultiIndex.from_product([POINTS, list(methods)], names=["at", "method"])
    out = loc.groupby(["at", "method"])[["span_share", "positive_share", "chance"]].mean().reindex(index)
    out["lift"] = out.span_share / out.chance
    return out.assign(maps=loc.groupby(["at", "method"]).size().reindex(index).fillna(0).astype(int))


def chapter_texts(task: EcgTask, runs: list[EcgRun], detection: pd.DataFrame, loc: pd.DataFrame,
                  seconds: float) -> dict[str, str]:
    """The texts the anomaly chapter glues for the ECG section (names ``ecg-*``), from the task, the runs
    of every seed and their :func:`detection_summary` / :func:`localisation_summary`."""
    real = pd.concat([r.detection.loc[["test, the labelled span"]] for r in runs]).roc_auc.astype(float)
    alarms = pd.concat([r.alarms for r in runs], ignore_index=True)
    with_true = sum(bool(r.alarms.true.any()) for r in runs)
    n = len(runs)
    first, last = task.span
    early = int(((alarms.onset < first) & (alarms.end >= first)).sum())
    def count(k, one, many=None):  # "no alarms", "one alarm", "3 alarms"
        return f"no {many or one + 's'}" if k == 0 else f"one {one}" if k == 1 else f"{k} {many or one + 's'}"
    seeds = "the one detector seed" if n == 1 else f"the {n} detector seeds"
    n_true = int(alarms.true.sum())
    alarm = (f"Over {seeds} the detectors raise {count(len(alarms), 'alarm')} on the test part, "
             f"{'none' if n_true == 0 else n_true} of them true (a true alarm's onset lies in the labelled span or at "
             f"most {MERGE} steps after it); {with_true} of {n} raise a true alarm. "
             + (f"{count(early, 'alarm').capitalize()} cover the span but began before it, and count as false, "
                "since their onset precedes the anomaly." if early else ""))
    f = lambda v: f"{v:.2f}" if np.isfinite(v) else "–"  # noqa: E731
    def sentence(at, intro):
        rows = loc.loc[at]
        others = ", ".join(f"{m} {f(rows.span_share[m])}" for m in rows.index if m != "lrp-epsilon")
        return (f"{intro} LRP-ε puts {f(rows.span_share['lrp-epsilon'])} of |A| on the span's steps, where the span "
                f"fills {f(rows.chance['lrp-epsilon'])} of the window (lift {f(rows.lift['lrp-epsilon'])}); {others}.")

    onset = (sentence("alarm onset", f"At the onsets of the {int(loc.maps['alarm onset'].iloc[0])} true alarm(s),")
             if loc.loc["alarm onset"].maps.sum() else "No detector raised a true alarm under this profile, so no alarm "
             "onset is explained.")
    peaks = pd.concat([r.localisation[r.localisation["at"] == "span peak"].head(1) for r in runs])
    above = int((peaks.score.to_numpy() > np.array([r.tau for r in runs])).sum())
    where = onset + " " + sentence("span peak", "At the span's highest-score step (" + (
        "above the threshold on every seed" if above == n else f"above the threshold on {above} of {n} seeds") + "),")
    auc = float(detection.roc_auc["test, the labelled span"])
    below = bool((real < 0.5).all())
    verdict = (("The detector ranks the span's steps below the normal steps of the test part on every seed"
                if below else "The detector ranks the span's steps no higher than the normal steps of the test part")
               + ": the generic "
               "faults it learnt do not transfer to this premature beat. The explanations below therefore explain a score "
               "that does not single out the anomaly: their shares on the span exercise the tools on a real series "
               "and are not evidence for or against any method, so no method is ranked on them." if auc <= 0.55 else
               "The detector ranks the span's steps above most normal steps of the test part, though it was never "
               "shown a premature beat.")
    raw = len(task.values) * task.factor
    return {"ecg-raw-seconds": f"{raw / 360:.1f}", "ecg-factor": f"{task.factor}",
            "ecg-step-ms": f"{1000 * task.step_seconds:.1f}", "ecg-threshold": f"{float(task.threshold[0]):.3f}",
            "ecg-span-steps": f"{task.span[0]}..{task.span[1]}", "ecg-n-seeds": f"{n}",
            "ecg-real-roc_auc": f(detection.roc_auc["test, the labelled span"]),
            "ecg-real-f1": f(detection.f1["test, the labelled span"]), "ecg-real-verdict": verdict,
            "ecg-real-roc_auc-min": f(real.min()), "ecg-real-roc_auc-max": f(real.max()),
            "ecg-val-roc_auc": f(detection.roc_auc["validation, injected"]),
            "ecg-inj-roc_auc": f(detection.roc_auc["test, injected (before the span)"]),
            "ecg-train-seconds": f"{(task.bounds['train'][1] - task.bounds['train'][0]) * task.step_seconds:.1f}",
            "ecg-window": f"{WINDOW}", "ecg-history": f"{HISTORY}", "ecg-alarm-sentence": alarm,
            "ecg-loc-sentence": where, "ecg-seconds": f"{seconds:.0f}",
            "ecg-lrp-lift": f(loc.lift[("span peak", "lrp-epsilon")]),
            "ecg-lrp-lift-onset": f(loc.lift[("alarm onset", "lrp-epsilon")]),
            "ecg-summary-verdict": (
                "the detector does not single out the span, so the explanations of its score there only show the "
                "tools working on a real series and are no evidence for any method." if auc <= 0.55 else
                f"at the span's highest-score step, LRP-ε's share of |A| on the span is "
                f"{f(loc.lift[('span peak', 'lrp-epsilon')])} times the chance level.")}
