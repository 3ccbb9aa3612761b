r"""Anomalies injected into the ADL homes, a spiking detector, and explanations of its alarms.

The paper idea behind this book reads LRP in spiking networks as a conservative transport
scheme "with an illustrative anomaly-detection example". This package provides that
example on the UCI ADL homes (:mod:`spikeflux.data.adl`), one module per concept:

:mod:`~spikeflux.anomaly.kinds`
    the kinds of anomaly (:data:`KINDS`), each knowing where it may start and how it
    changes the inputs, and the sensors of each home (:data:`HOME_SENSORS`);
:mod:`~spikeflux.anomaly.injection`
    :func:`inject`: seeded anomalies in a span of one home with exact ground truth (the
    :class:`Injection`'s mask of every modified cell, a per-second label and a log);
:mod:`~spikeflux.anomaly.detector`
    the spiking detector (:data:`DETECTOR`, :func:`fit_detector`), its score
    :math:`s[t] = U^L_1[t] - U^L_0[t]` (:func:`score_series`) and the detection scores;
:mod:`~spikeflux.anomaly.alarms`
    alarms, the runs of :math:`s[t] > \tau` (:func:`find_alarms`), matched to the anomalies;
:mod:`~spikeflux.anomaly.explanation`
    :func:`explain_alarm` (the score at an alarm's onset, with any method of
    :data:`spikeflux.explain.METHODS`) and :func:`localisation` against the injected cells;
:mod:`~spikeflux.anomaly.ecg`
    a real labelled anomaly: the same detector on the MIT-BIH ECG excerpt of sktime's wheel
    (:func:`spikeflux.tasks.mitdb`), trained on injected generic ECG anomalies (:func:`~spikeflux.anomaly.ecg.run_seed`);
:mod:`~spikeflux.anomaly.figures`
    the chapter's figures.

Everything random takes a seed; nothing is pickled (weights go through
:meth:`LIFNetwork.save`). Every name is importable from this package.
"""

from __future__ import annotations

from . import ecg
from .alarms import alarms_of, find_alarms, match_alarms, pick_alarms
from .detector import (
    DETECTOR,
    best_f1_threshold,
    build_detector,
    concat_series,
    detection_scores,
    detection_table,
    detector_table,
    fit_detector,
    per_anomaly_detection,
    per_kind_detection,
    sample_weights,
    score_series,
    train_detector,
    training_series,
)
from .explanation import (
    FALSE_ALARM_FACTS,
    LOCALISATION_METRICS,
    blame,
    boundary_profile,
    choose_window,
    contrast_network,
    explain_alarm,
    explain_alarms,
    false_alarm_facts,
    false_alarm_intro,
    localisation,
    localisation_summary,
    localisation_table,
    silence_table,
    window_mask,
)
from .injection import (
    LOG_COLUMNS,
    SPLIT_CODES,
    Injection,
    busiest_day,
    check_injection,
    inject,
    inject_homes,
    injection_counts,
    injection_rng,
    spans,
)

from .kinds import EFFECTS, HOME_SENSORS, KINDS, PLACEMENTS, AnomalyKind, Placement, kinds_table

__all__ = [
    "ecg",
    "AnomalyKind", "Placement", "KINDS", "HOME_SENSORS", "PLACEMENTS", "EFFECTS", "kinds_table",
    "SPLIT_CODES", "LOG_COLUMNS", "Injection", "inject", "injection_rng", "spans", "inject_homes",
    "check_injection", "injection_counts", "busiest_day",
    "DETECTOR", "build_detector", "detector_table", "concat_series", "training_series", "sample_weights",
    "train_detector", "fit_detector", "score_series", "best_f1_threshold", "detection_scores", "detection_table",
    "per_anomaly_detection", "per_kind_detection",
    "find_alarms", "match_alarms", "alarms_of", "pick_alarms",
    "window_mask", "contrast_network", "explain_alarm", "explain_alarms", "boundary_profile", "choose_window", "blame",
    "false_alarm_facts", "false_alarm_intro", "FALSE_ALARM_FACTS",
    "localisation", "localisation_table", "localisation_summary", "silence_table", "LOCALISATION_METRICS",
]
