r"""Evaluation of explanations: correctness (budget-matched deletion), output-completeness,
continuity, compactness, ground truth, conservation and degeneracy, over several trained
seeds with paired statistics and sanity checks (``spec/tsa.md``, with the original
evaluation's mistakes fixed).

Modules: :mod:`.points` (explained excerpts), :mod:`.perturbation` (segments, budgets,
flips, permutations), :mod:`.metrics` (the metric registry, per-point values), :mod:`.stats`
(intervals, paired tests, Holm, Kendall's W), :mod:`.sanity` (cascading randomisation, class
sensitivity), :mod:`.suite` (explain, score, run, aggregate).
"""

from .metrics import (METRICS, Case, MetricInfo, ba_weights, ess, frobenius, gini, ground_truth_scores, index_area,
                      register_metric, score, top_share)
from .perturbation import (LEVELS, THRESHOLDS, budgets, cell_order, deletion_inputs, flippable, kept_inputs,
                           permuted_inputs, perturb_runs, predict_variants, segments)
from .points import (PointSet, excerpt_agreement, excerpts, make_points, predict_last, recut, select_points,
                     silent_windows, window_state)
from .sanity import cascading, class_sensitivity, randomised, spearman
from .stats import bootstrap_ci, hierarchical_ci, holm, kendall_w, paired
from .suite import (AMPLIFICATION_BOUND, BASELINES, BIAS_CHANNEL, COMPLETENESS, DEFAULT_PER_CLASS, EMPTY_BOUND, N_CLASSES, RANKED,
                    SUITE_OPTIONS, SuiteResult, agreement, attribute, compare, evaluate, execute, explained_check, ig_convergence, job_seed, load_trained, local_pool,
                    run_explained_check, run_sanity, run_suite, score_maps, stratified_subset, statuses, suite, summarise, verdicts)

__all__ = [name for name in dir() if not name.startswith("_")]
from . import report
