r"""Explaining alarms: the score at an alarm's onset, explained and scored against the injected cells.

:func:`explain_alarm` explains the score :math:`s[t^*] = U^L_1[t^*] - U^L_0[t^*]` at an
alarm's onset :math:`t^*` over the ``w`` seconds ending at :math:`t^*`, with any method of
:data:`spikeflux.explain.METHODS` (either on the detector's :func:`contrast_network`, whose
readout is :math:`U^L_1 - U^L_0` exactly, or on the detector itself with
``contrast="runner-up"``, which for two classes is the same difference);
:func:`explain_alarms` does so for a table of alarms. :func:`boundary_profile` reads off
one long LRP pass the boundary sink every shorter window would book, and
:func:`choose_window` the shortest window that keeps it small. :func:`localisation` scores
a map against the ground-truth mask cut to the same window (:func:`window_mask`),
:func:`localisation_table` every map of a table of alarms.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pandas as pd
import torch

from ..data.adl import INPUTS, runs
from ..snn import LIFNetwork

__all__ = ["window_mask", "contrast_network", "explain_alarm", "explain_alarms", "boundary_profile",
           "choose_window", "blame", "false_alarm_facts", "false_alarm_intro", "FALSE_ALARM_FACTS", "LOCALISATION_METRICS", "localisation", "localisation_table", "localisation_summary",
           "silence_table"]


def window_mask(mask: np.ndarray, t: int, window: int) -> np.ndarray:
    """The ground-truth cells of the ``window`` seconds ending at ``t``, as a map ``(14, window)``.

    ``mask`` is :attr:`Injection.mask` ``(n, 14)``; seconds before the series start are
    False. Column ``window - 1`` is second ``t``, as in an explanation map.
    """
    out = np.zeros((mask.shape[1], window), dtype=bool)
    lo = t - window + 1
    out[:, max(0, -lo):] = mask[max(lo, 0):t + 1].T
    return out


def contrast_network(net: LIFNetwork) -> LIFNetwork:
    r"""A copy of a leaky-readout detector whose output 1 is the score :math:`s = U^L_1 - U^L_0`.

    With a leaky readout the output membrane is linear in the output weights,
    :math:`U^L_c[t] = \sum_{k \le t} \beta^{t-k} \sum_{j \le k} \alpha^{k-j} (W^L S^{L-1}[j])_c`
    (zero initial state), so replacing the output rows by :math:`w_1 - w_0` and
    :math:`w_0 - w_1` gives outputs :math:`s` and :math:`-s` exactly, with every hidden
    spike unchanged. Explaining class 1 of the copy explains the log-odds the alarm is
    raised on, not the anomalous logit alone (which may well be negative at an alarm).
    """
    if net.readout != "leaky" or net.sizes[-1] != 2:
        raise ValueError("contrast_network needs a two-output network with readout='leaky'")
    out = copy.deepcopy(net)
    with torch.no_grad():
        W = net.weights[-1]
        out.weights[-1].copy_(torch.stack([W[0] - W[1], W[1] - W[0]]))
    return out


def explain_alarm(net: LIFNetwork, x: np.ndarray, t: int, method: str = "lrp-epsilon", window: int = 1200,
                  history: int = 3600, **options):
    """Explain output 1 of ``net`` at second ``t`` of the series ``x`` ``(n, 14)``.

    To explain the score :math:`s[t] = U^L_1[t] - U^L_0[t]`, pass the detector with
    ``contrast="runner-up"`` (an option of :func:`spikeflux.explain.explain`; for two classes
    :math:`U^L_1 - U^L_0`), or its :func:`contrast_network`. The network runs from a zero state over the
    excerpt of the ``history`` seconds ending at ``t`` (cut at the series start), so the
    state at the window's start is what the detector had built up; the map covers the
    last ``window`` seconds. The excerpt does not depend on ``window``, so maps of two
    window lengths agree on the seconds both cover (LRP: up to the boundary sink).

    Returns
    -------
    Explanation
        ``attribution`` of shape ``(14, w)`` with ``w = min(window, t + 1, history)``,
        column ``w - 1`` being second ``t``; the ledger for LRP methods.
    """
    from ..explain import explain

    if window > history:
        raise ValueError(f"window={window} is longer than the excerpt history={history}")
    lo = max(0, t - history + 1)
    xe = torch.as_tensor(x[lo:t + 1], dtype=net.dtype, device=net.device)
    return explain(net, xe, t - lo, method=method, window=min(window, t - lo + 1), target=1, **options)


#: The localisation scores of :func:`localisation`: name -> (higher is better, description).
def _registered(name: str) -> tuple[bool, str]:
    from ..evaluation import METRICS

    return METRICS[name].higher_is_better, METRICS[name].description


#: the localisation scores, registered with the evaluation's metrics (``spikeflux.evaluation.METRICS``);
#: ``gt_positive_share`` is the registry's relevance mass accuracy under the chapter's earlier name
LOCALISATION_METRICS: dict[str, tuple[bool, str]] = {
    "gt_pr_auc": _registered("gt_pr_auc"),
    "gt_positive_share": _registered("gt_mass_accuracy"),
    "sensor_share": _registered("sensor_share"),
    "cell_share": _registered("cell_share"),
}


def localisation(A: np.ndarray, mask: np.ndarray, sensors: list[str] | tuple[str, ...]) -> dict:
    """How well a map ``A`` ``(14, w)`` points at the injected cells ``mask`` ``(14, w)``.

    Returns the scores of :data:`LOCALISATION_METRICS`: ``gt_pr_auc`` and
    ``gt_positive_share`` from :func:`spikeflux.evaluation.ground_truth_scores` (NaN when
    the window holds no modified cell or only modified cells, resp. no positive
    attribution), ``sensor_share`` (rows of the locations in ``sensors``) and
    ``cell_share``; both shares are NaN for an all-zero map. 1 is a perfect score.
    """
    from ..evaluation import ground_truth_scores

    A, mask = np.asarray(A, dtype=float), np.asarray(mask, dtype=bool)
    if A.shape != mask.shape:
        raise ValueError(f"map and mask differ in shape: {A.shape} != {mask.shape}")
    gt = ground_truth_scores(A[None], mask[None])
    total = np.abs(A).sum()
    rows = [INPUTS.index(s) for s in sensors]
    return dict(gt_pr_auc=float(gt["gt_pr_auc"][0]), gt_positive_share=float(gt["gt_positive_share"][0]),
                sensor_share=float(np.abs(A[rows]).sum() / total) if total > 0 else float("nan"),
                cell_share=float(np.abs(A[mask]).sum() / total) if total > 0 else float("nan"))


def explain_alarms(net: LIFNetwork, injections: dict, alarms: pd.DataFrame, method: str, *, split: str = "test",
                   **options) -> tuple[dict, list[float]]:
    """:func:`explain_alarm` at the onset of every alarm (rows with ``subject`` and ``onset``)
    of the ``split`` spans in ``injections``; returns ``{row: Explanation}`` and the seconds
    each took. ``options`` (``window``, ``history``, method options) go to :func:`explain_alarm`."""
    out, seconds = {}, []
    for i, a in alarms.iterrows():
        t0 = time.perf_counter()
        out[i] = explain_alarm(net, injections[(a.subject, split)].x, int(a.onset), method, **options)
        seconds.append(time.perf_counter() - t0)
    return out, seconds


def boundary_profile(e, lags: np.ndarray) -> np.ndarray:
    r"""The boundary sink a window of each length ``w`` in ``lags`` would book, relative to the score.

    Within one long LRP window, the flux :math:`\Phi[t]` is the relevance crossing from
    second :math:`t` into :math:`t-1`: exactly what a window starting at :math:`t` books as
    its boundary sink. So a window of length :math:`w` books
    :math:`|\Phi[t^* - w + 1]| / |R_\text{init}|`; NaN where ``w`` exceeds the long window.
    """
    flux, r = e.ledger.flux.numpy(), float(e.ledger.relevance_init)
    lags = np.asarray(lags)
    out = np.full(len(lags), np.nan)
    ok = lags <= len(flux)
    out[ok] = np.abs(flux[len(flux) - lags[ok]]) / abs(r)
    return out


def choose_window(profiles: np.ndarray, windows, level: float = 0.01) -> tuple[int, dict]:
    """The shortest of ``windows`` whose boundary share (``profiles`` ``(n_alarms, W_long)``, column
    ``w - 1`` for length ``w``) stays below ``level`` for every alarm (else the longest), and the
    largest share of each window."""
    worst = {w: np.nanmax(profiles[:, w - 1]) for w in windows}
    return next((w for w in windows if worst[w] < level), max(windows)), worst


def localisation_table(alarms: pd.DataFrame, maps: dict, injections: dict, *, split: str = "test") -> pd.DataFrame:
    """:func:`localisation` of every map ``maps[method][row]`` of the true alarms, one row per (alarm, method).

    Each map is scored against the injected cells in its window and the injected sensors of
    the alarm's anomaly (``alarms.anomaly``, a row of the span's log).
    """
    rows = []
    for i, a in alarms[alarms.true].iterrows():
        inj = injections[(a.subject, split)]
        sensors = inj.log.iloc[int(a.anomaly)].sensors.split("+")
        for method, by_alarm in maps.items():
            A = by_alarm[i]
            rows.append(dict(alarm=i, subject=a.subject, kind=a.kind, method=method,
                             **localisation(A, window_mask(inj.mask, int(a.onset), A.shape[1]), sensors)))
    return pd.DataFrame(rows)


def localisation_summary(loc: pd.DataFrame, methods, seed: int) -> pd.DataFrame:
    """Mean and 95% bootstrap interval (:func:`spikeflux.evaluation.bootstrap_ci`) of every
    :data:`LOCALISATION_METRICS` score per method: index ``(method, metric)``, columns ``mean, lo, hi``."""
    from ..evaluation import bootstrap_ci

    rows = {(m, k): bootstrap_ci(loc.loc[loc.method == m, k].to_numpy(), seed=seed)
            for m in methods for k in LOCALISATION_METRICS}
    return pd.DataFrame(list(rows.values()), index=pd.MultiIndex.from_tuples(list(rows)), columns=["mean", "lo", "hi"])


def silence_table(net: LIFNetwork, injections: dict, keys, methods, scores: dict, **options) -> pd.DataFrame:
    """Explanations inside every ``no_motion`` anomaly of the spans ``keys``, at its latest silenced second.

    For each silence and method: the score there and the shares of :math:`|A|` on the silenced
    cells (``cell_share``) and on the bias channel (``bias_share``); NaN for an all-zero map.
    ``options`` (``window``, ``history``) go to :func:`explain_alarm`.
    """
    rows = []
    for k in keys:
        inj = injections[k]
        for j, entry in inj.log[inj.log.kind == "no_motion"].iterrows():
            t = int(entry.start) + int(np.flatnonzero(inj.mask[entry.start:entry.end + 1].any(1))[-1])
            for method in methods:
                A = explain_alarm(net, inj.x, t, method, **options).attribution.numpy()
                m = window_mask(inj.mask, t, A.shape[1])
                total = np.abs(A).sum()
                rows.append(dict(subject=k[0], anomaly=j, method=method, score=scores[k][t],
                                 cell_share=np.abs(A[m]).sum() / total if total > 0 else np.nan,
                                 bias_share=np.abs(A[0]).sum() / total if total > 0 else np.nan))
    return pd.DataFrame(rows, columns=["subject", "anomaly", "method", "score", "cell_share", "bias_share"])


def blame(A: np.ndarray, x: np.ndarray, t: int, reference: np.ndarray) -> dict:
    """The channel a map ``A`` ``(14, w)`` of second ``t`` of ``x`` ``(n, 14)`` blames most, and how unusual it is.

    Returns ``channel`` (the row with the most positive attribution), ``share`` (its share of
    the positive attribution), ``run`` (seconds the channel has been on at ``t``; 0 if it is
    off) and ``typical`` (the 90th percentile of the lengths of its runs in ``reference``
    ``(m, 14)``, e.g. the clean training days; NaN if it never fires there).
    """
    pos = np.clip(A, 0, None).sum(1)
    top = int(np.argmax(pos))
    on = x[:t + 1, top][::-1]
    run = int(np.argmin(on > 0)) if (on == 0).any() else len(on)
    _, lengths = runs(reference[:, top] > 0)
    return dict(channel=INPUTS[top], share=pos[top] / pos.sum(), run=run,
                typical=np.percentile(lengths, 90) if len(lengths) else np.nan)


#: The texts :func:`false_alarm_facts` fills, dashes when there is no false alarm.
FALSE_ALARM_FACTS = ("subject", "time", "activity", "top", "top-share", "run", "typical", "reading")


def false_alarm_facts(alarm, inj, b: dict, classes) -> dict[str, str]:
    """What the chapter says about a false alarm: where and when (``alarm``: a row with ``subject`` and
    ``onset``; ``inj``: its :class:`~spikeflux.anomaly.injection.Injection`), during which label
    (``classes``: the class names), and the reading of :func:`blame`'s result ``b``: a run of the blamed
    channel longer than its typical (90th percentile) run, a real event of ordinary length, or, when the
    channel is off at the alarm, events in the minutes before it. Keys: :data:`FALSE_ALARM_FACTS`."""
    t = int(alarm.onset)
    activity = classes[int(inj.y[t])]
    kind = ("an unusually long but harmless {} event: the detector has learnt that this sensor staying on is suspicious"
            if b["run"] > b["typical"] else "a real {} event of ordinary length" if b["run"] > 0
            else "{} events in the minutes before the alarm (the channel is off at the alarm itself)")
    context = "" if b["run"] > b["typical"] else ", in a context the detector associates with the injected anomalies"
    return {"subject": alarm.subject, "time": str(inj.timestamps[t]).replace("T", " "), "top": b["channel"],
            "activity": "in a second no activity label covers" if activity == "Other" else f"during a {activity} label",
            "top-share": f"{b['share']:.0%}", "run": f"{b['run']}", "reading": kind.format(b["channel"]) + context,
            "typical": f"{b['typical']:.0f}" if np.isfinite(b["typical"]) else "–"}


def false_alarm_intro(n_false: int) -> str:
    """The sentence that opens the chapter's false-alarm section, for ``n_false`` false alarms on the test days."""
    if n_false == 0:
        return "There is no false alarm on the test days under this profile, so there is none to explain here."
    if n_false == 1:
        return "The detector raises a single false alarm on the test days."
    return f"The detector raises {n_false} false alarms on the test days; we explain the one with the highest score."
