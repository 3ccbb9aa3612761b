r"""Running the evaluation: explain the points, score the maps, over methods, models and seeds.

- :func:`attribute` explains excerpts with a registered method (batched), under the
  evaluation's explained quantity (:data:`spikeflux.config.CONTRAST`), and returns what the
  metrics need besides the map: each method's own completeness target and, for LRP, the
  relevance moved over the start (the amplification).
- :func:`evaluate` scores one method on one model; :func:`score_maps` scores maps computed
  elsewhere with the same metrics. Both return tidy rows with 95% intervals over points.
- :func:`run_suite` runs many ``(task, model, seed, method)`` jobs on any
  :class:`concurrent.futures.Executor` (default: local single-threaded worker processes; a
  Dask ``distributed`` client's executor works unchanged) and aggregates them:
  :func:`summarise` (mean over seeds, seeds-then-points intervals), :func:`compare` (every
  pair of methods, paired, Holm-corrected), :func:`agreement` (Kendall's W of the ranking
  across seeds).

A method is *diverged* on a model when its median amplification exceeds
:data:`AMPLIFICATION_BOUND` or its relevance overflowed: its rows say so (``status``) and it
takes no part in rankings or comparisons.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .. import config
from ..snn import LIFNetwork
from . import perturbation as pt
from .metrics import METRICS, Case, score
from .points import PointSet, make_points, predict_last, window_state
from .stats import bootstrap_ci, hierarchical_ci, holm, kendall_w, paired

#: median Σ|R_n| / |R_init| above which a map is reported as diverged, not ranked. The
#: conservative rules move 10-100 times the start on the book's models (the conservation
#: chapter measures it); αβ with the literature's empty-side convention reaches 1e250.
AMPLIFICATION_BOUND = 1e6
#: share of all-zero maps above which a method is reported as "empty" on a model, not ranked
#: (LRP-z⁺ passes only positive contributions, so an output neuron below zero sends it nothing)
EMPTY_BOUND = 0.25
#: methods with a completeness property, and what their maps should sum to
COMPLETENESS = {"lrp-0": "explained", "lrp-epsilon": "explained", "lrp-zplus": "explained",
                "lrp-alphabeta": "explained", "integrated-gradients": "difference", "deeplift": "difference",
                "shapley-exact": "difference"}
BASELINES = ("random", "zero")
#: methods whose continuity is not measured in the suite: they cost hundreds of forward passes
#: per explanation, and continuity re-explains every point once per perturbation
NO_CONTINUITY = ("kernel-shap", "shapley-sampling")
#: metrics that compare methods in the chapter (one value per point)
RANKED = ("ess", "oc_matched", "max_sensitivity", "gini", "gt_pr_auc", "gt_mass_accuracy", "gt_rank_accuracy")


def attribute(net: LIFNetwork, X: np.ndarray, method: str, window: int, targets, *, contrast=config.CONTRAST,
              **options) -> tuple[np.ndarray, dict]:
    """Maps ``(P, n_in, window)`` of the last step of every excerpt ``X`` ``(P, T, n_in)``, and extras.

    Extras: ``explained`` ``(P,)`` (the explained quantity), ``target`` (the completeness
    target of :data:`COMPLETENESS`, or ``None``), ``amplification`` (LRP, else ``None``).
    """
    from ..explain import explain

    Xt = torch.as_tensor(X, dtype=net.dtype, device=net.device)
    e = explain(net, Xt, X.shape[1] - 1, method=method, target=[int(c) for c in targets], window=window,
                contrast=contrast, **options)
    A = e.attribution.detach().cpu().numpy()
    info = e.info
    explained = np.asarray(info.get("explained_value", e.logit).detach().cpu(), dtype=float)
    kind = COMPLETENESS.get(method)
    target = None
    if kind == "explained":
        target = explained
    elif kind == "difference" and "f_input" in info and "f_baseline" in info:
        target = (info["f_input"] - info["f_baseline"]).detach().cpu().numpy().astype(float)
    elif kind == "difference" and e.ledger is not None:
        target = e.ledger.relevance_init.detach().cpu().numpy().astype(float)
    amp = None
    if e.ledger is not None and hasattr(e.ledger, "relevance_mass"):
        r0 = np.abs(e.ledger.relevance_init.detach().cpu().numpy().astype(float))
        mass = e.ledger.relevance_mass.detach().cpu().numpy().astype(float)
        amp = np.where(r0 > 0, mass / np.where(r0 > 0, r0, 1), np.nan)
    return A, dict(explained=explained, target=target, amplification=amp, name=info.get("explained", ""))


def _rows(scores: dict, *, dataset, model, seed, method, n_boot=1000, rng_seed=0, status="ok") -> list:
    """Tidy rows (value, 95% bootstrap interval over points, n) of per-point ``scores``."""
    rows = []
    for (metric, level), values in scores.items():
        info = METRICS[metric]
        v, lo, hi = bootstrap_ci(values, n_boot=n_boot, seed=rng_seed, statistic=info.statistic)
        rows.append(dict(dataset=dataset, model=model, seed=seed, method=method, metric=metric, level=level,
                         subset="all", value=v, ci_low=lo, ci_high=hi, n=int(np.isfinite(values).sum()),
                         higher_is_better=info.higher_is_better, category=info.category, status=status))
    return rows


def _curves(case: Case, *, dataset, model, seed, method) -> list:
    """Curve rows (mean over points of the per-point values = the balanced accuracy) with ``cells_flipped``."""
    n_in, W = case.A.shape[1], case.window
    cells = pt.budgets(n_in, W, case.levels, case.bias_channel)
    out = []
    for name, values in case.curves.items():
        grid = case.thresholds if name == "output_completeness" else case.levels
        for k, lv in enumerate(grid):
            out.append(dict(dataset=dataset, model=model, seed=seed, method=method, curve=name, level=float(lv),
                            cells_flipped=int(cells[k]) if name != "output_completeness" else -1,
                            value=float(values[:, k].mean())))
    return out


def _make_case(net, points: PointSet, A, clean, n_classes, state, *, bias_channel, seed, **kw) -> Case:
    return Case(net=net, X=points.X, A=A, clean=clean, n_classes=n_classes, window=points.window, state=state,
                bias_channel=bias_channel, masks=points.masks, seed=seed, **kw)


def _clean(net, points: PointSet):
    W = points.window
    state = window_state(net, points.X, W)
    clean = predict_last(net, torch.as_tensor(points.X[:, -W:], dtype=net.dtype, device=net.device),
                         state=state).cpu().numpy()
    return state, clean


def score_maps(net: LIFNetwork, points: PointSet, A: np.ndarray, n_classes: int, *, dataset: str = "",
               model: str = "", method: str = "user", bias_channel: int | None = None, seed: int = 0,
               levels=pt.LEVELS, thresholds=pt.THRESHOLDS, n_draws: int = 3, target: np.ndarray | None = None,
               return_scores: bool = False):
    """Score maps ``A`` ``(P, n_in, window)`` computed elsewhere with the evaluation's metrics.

    Every metric that needs only the maps and the model (deletion, output-completeness,
    compactness, ground truth where ``points`` has masks, completeness against ``target``,
    zero maps). ``bias_channel``: a constant input channel that is never perturbed nor
    counted (``None``: every channel is input). Returns tidy rows and curve rows (and the
    per-point scores with ``return_scores``).
    """
    A = np.asarray(A, dtype=float)
    expected = (len(points), points.X.shape[2], points.window)
    if A.shape != expected:
        raise ValueError(f"A: expected maps of shape {expected} (points, n_in, window), got {A.shape}")
    if not np.isfinite(A).all():
        raise ValueError("A: the maps contain NaN or inf")
    state, clean = _clean(net, points)
    case = _make_case(net, points, A, clean, n_classes, state, bias_channel=bias_channel, seed=seed,
                      target=target, levels=tuple(levels), thresholds=tuple(thresholds), n_draws=n_draws,
                      n_perturb=0)
    scores = score(case)
    rows = _rows(scores, dataset=dataset, model=model, seed=0, method=method, rng_seed=seed)
    curves = _curves(case, dataset=dataset, model=model, seed=0, method=method)
    return (rows, curves, scores) if return_scores else (rows, curves)


def job_seed(*key) -> int:
    """A stable seed of a job's key (independent of process, order and Python's hash seed)."""
    return zlib.crc32(repr(key).encode())


def evaluate(net: LIFNetwork, points: PointSet, method: str, n_classes: int, *, dataset: str, model: str,
             model_seed: int = 0, levels=pt.LEVELS, thresholds=pt.THRESHOLDS, n_perturb: int = 5,
             n_draws: int = 3, bias_channel: int | None = None, contrast=config.CONTRAST, seed: int = 0,
             options: dict | None = None, return_scores: bool = False, **legacy):
    """Every metric for one method on one model: tidy rows (with 95% intervals over points) and curves.

    ``method`` may also be ``"random"`` (seeded Gaussian maps) or ``"zero"`` (all-zero maps,
    whose ties are ordered at random: a random deletion order of whole segments). The
    explained class of each point is the model's clean prediction; ``contrast`` is what is
    explained (:func:`spikeflux.explain.explain`). ``bias_channel``: a constant input channel
    that is never flipped, permuted, perturbed or counted as evidence (``None``: the model has
    none; the book's tasks pass 0). ``n_perturb=0`` skips continuity (it explains every point
    again per perturbation). ``model_seed`` labels the rows (the training seed); ``seed`` seeds
    the random parts (tie orders, permutations, perturbations, random maps).
    """
    if "n_levels" in legacy or "flip_bias" in legacy:
        raise TypeError("evaluate: n_levels/flip_bias were replaced by levels= (shares of the flippable cells) "
                        "and bias_channel=")
    if legacy:
        raise TypeError(f"evaluate: unknown argument(s) {', '.join(sorted(legacy))}")
    options = dict(options or {})
    P, W, n_in = len(points), points.window, points.X.shape[2]
    pt.flippable(n_in, bias_channel)  # checks the channel
    state, clean = _clean(net, points)
    extras = dict(target=None, amplification=None, explained=None)
    status = "ok"
    explain_fn = None
    if method == "random":
        A = np.random.default_rng([seed, 7]).normal(size=(P, n_in, W))
    elif method == "zero":
        A = np.zeros((P, n_in, W))
    else:
        try:
            A, info = attribute(net, points.X, method, W, clean, contrast=contrast, **options)
        except FloatingPointError as err:  # relevance overflowed (αβ with the literature's empty side)
            row = dict(dataset=dataset, model=model, seed=model_seed, method=method, metric="amplification",
                       level=np.nan, subset="all", value=np.inf, ci_low=np.nan, ci_high=np.nan, n=P,
                       higher_is_better=False, category="degeneracy", status=f"diverged: {err}"[:200])
            return ([row], [], {}) if return_scores else ([row], [])
        extras = dict(target=info["target"], amplification=info["amplification"], explained=info["explained"])
        if info["amplification"] is not None and not np.nanmedian(info["amplification"]) <= AMPLIFICATION_BOUND:
            status = "diverged"  # reported, never ranked: only its degeneracy is scored
        if n_perturb and status == "ok":
            explain_fn = lambda Xp, c: attribute(net, Xp, method, W, c, contrast=contrast, **options)[0]  # noqa: E731
    case = _make_case(net, points, A, clean, n_classes, state, bias_channel=bias_channel, seed=seed,
                      explain=explain_fn, n_perturb=n_perturb, levels=tuple(levels), thresholds=tuple(thresholds),
                      n_draws=n_draws, **extras)
    names = [m for m in METRICS if (method not in BASELINES or METRICS[m].category in
                                    ("correctness", "output-completeness", "ground truth"))
             and (status == "ok" or METRICS[m].category == "degeneracy")]
    scores = score(case, names)
    rows = _rows(scores, dataset=dataset, model=model, seed=model_seed, method=method, rng_seed=seed, status=status)
    curves = _curves(case, dataset=dataset, model=model, seed=model_seed, method=method)
    return (rows, curves, scores) if return_scores else (rows, curves)


# --------------------------------------------------------------------------- the suite
def load_trained(task: str, depth: str, seed: int = 0, dtype: str = "float64", device: str = "cpu") -> LIFNetwork:
    """A trained model of :mod:`spikeflux.models` (training seed ``seed``) in ``dtype`` on ``device``."""
    from .. import models

    return models.load(task, depth, seed=seed).to(dtype=getattr(torch, dtype), device=device)


_CACHE: dict = {}


def _points(packed: dict) -> PointSet:
    """The unpacked point set of a job, kept per process by its digest."""
    key = ("points", packed["digest"])
    if key not in _CACHE:
        _CACHE[key] = PointSet.unpack(packed)
    return _CACHE[key]


def _net(loader: Callable, task: str, depth: str, model_seed: int) -> LIFNetwork:
    """The network of a job, loaded once per process."""
    key = ("net", task, depth, model_seed)
    if key not in _CACHE:
        _CACHE[key] = loader(task, depth, model_seed)
    return _CACHE[key]


def _one_thread() -> None:
    torch.set_num_threads(1)


def local_pool(workers: int):
    """``workers`` spawned local processes, each single-threaded: one pool a chapter can pass as
    ``executor`` to :func:`run_suite` and :func:`run_sanity` (the processes start once)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_one_thread)


def execute(calls: list, weights=None, *, executor=None, workers: int = 1, progress: bool = True,
            desc: str = "jobs") -> dict:
    """Run ``calls`` (``(fn, args)`` pairs of picklable module-level functions), heaviest first.

    ``executor``: any :class:`concurrent.futures.Executor`; default ``workers`` spawned local
    processes, each single-threaded, or in-process when ``workers <= 1``. Returns ``{index: result}``.
    """
    from concurrent.futures import as_completed

    from tqdm import tqdm

    results: dict = {}
    bar = tqdm(total=len(calls), desc=desc, disable=not progress, mininterval=10)
    own = None
    if executor is None and workers > 1:
        own = executor = local_pool(workers)
    try:
        if executor is None:
            for i, (fn, args) in enumerate(calls):
                results[i] = fn(*args)
                bar.update()
        else:
            w = weights if weights is not None else [1] * len(calls)
            order = sorted(range(len(calls)), key=lambda i: -w[i])
            futures = {executor.submit(calls[i][0], *calls[i][1]): i for i in order}
            for f in as_completed(futures):
                results[futures[f]] = f.result()
                bar.update()
    finally:
        bar.close()
        if own is not None:
            own.shutdown()
    return results


def _run_job(job: tuple, packed: dict, n_classes: int, loader: Callable, kw: dict, options: dict) -> dict:
    """One ``(task, depth, seed, method)`` evaluation: rows, curve rows, per-point scores, seconds."""
    task, depth, model_seed, method = job
    points = _points(packed)
    job_kw = dict(kw)
    if model_seed not in (None, 0) or method in NO_CONTINUITY:
        job_kw["n_perturb"] = 0  # continuity on the first trained seed only (it re-explains every point)
    t0 = time.perf_counter()
    rows, curves, scores = evaluate(_net(loader, task, depth, model_seed), points, method, n_classes,
                                    dataset=task, model=depth,
                                    model_seed=model_seed or 0, bias_channel=points.bias_channel,
                                    seed=job_seed(task, depth, model_seed, method), options=options.get(method),
                                    return_scores=True, **job_kw)
    return dict(rows=rows, curves=curves, scores=scores, seconds=time.perf_counter() - t0, job=job)


def _job_key(job: tuple) -> tuple:
    if len(job) == 3:
        return (job[0], job[1], 0, job[2])
    if len(job) == 4:
        return tuple(job)
    raise ValueError(f"a job is (task, depth, method) or (task, depth, seed, method), got {job!r}")


@dataclass
class SuiteResult:
    """What :func:`run_suite` returns: per-job rows and curves, per-point scores and timings.

    Iterates as ``rows, curves, timing`` (the earlier return value).
    """

    rows: list
    curves: list
    timing: list
    scores: dict = field(default_factory=dict)  # (task, depth, seed, method) -> {(metric, level): (P,)}

    def __iter__(self):
        return iter((self.rows, self.curves, self.timing))


def run_suite(points: dict, n_classes: dict, jobs: list, *, loader: Callable = load_trained, workers: int = 1,
              executor=None, options: dict | None = None, progress: bool = True, **evaluate_kw) -> SuiteResult:
    """Evaluate every job ``(task, model, method)`` or ``(task, model, seed, method)``.

    ``points`` maps a task to its :class:`PointSet` (its ``bias_channel`` is used);
    ``loader(task, depth, seed)`` returns the network (a module-level function or a
    ``functools.partial`` of one, so that workers can receive it); ``options`` maps a
    method to its explainer options; ``evaluate_kw`` go to :func:`evaluate` (continuity runs
    on seed 0 only). ``executor``: any :class:`concurrent.futures.Executor` (e.g.
    ``distributed.Client(...).get_executor()``); by default ``workers`` local spawned
    single-threaded processes (in-process when ``workers <= 1``). Every job is seeded from its
    key alone, so results do not depend on the executor, the number of workers or the order
    jobs finish in; results come back in the order of ``jobs``.
    """
    options = options or {}
    keys = [_job_key(j) for j in jobs]
    packed = {task: p.packed() for task, p in points.items()}
    calls = [(_run_job, (k, packed[k[0]], n_classes[k[0]], loader, evaluate_kw, options)) for k in keys]
    weights = [_job_weight(k, points) for k in keys]
    results = execute(calls, weights, executor=executor, workers=workers, progress=progress, desc="evaluation")
    out = SuiteResult([], [], [])
    for i, k in enumerate(keys):
        r = results[i]
        out.rows += r["rows"]
        out.curves += r["curves"]
        out.scores[k] = r["scores"]
        out.timing.append(dict(dataset=k[0], model=k[1], seed=k[2], method=k[3], seconds=r["seconds"]))
    return out


#: relative cost of one explanation, for scheduling only
_COST = {"integrated-gradients": 8, "lrp-0": 4, "lrp-epsilon": 4, "lrp-zplus": 4, "lrp-alphabeta": 4,
         "saliency": 2, "input-x-gradient": 2, "deeplift": 5, "kernel-shap": 40, "shapley-sampling": 20,
         "occlusion": 5, "random": 0.5, "zero": 0.5}


def _job_weight(key: tuple, points: dict) -> float:
    return _COST.get(key[3], 1) * len(points[key[0]]) * (3 if key[2] == 0 else 1)


# --------------------------------------------------------------------------- aggregation
def statuses(result: SuiteResult) -> dict:
    """``(task, depth, method) -> "ok" | "diverged" | "empty"``.

    Diverged on any trained seed is diverged; a method whose maps are exactly zero on more than
    :data:`EMPTY_BOUND` of the points (over all seeds) is ``"empty"``: its perturbation scores
    would be those of the zero baseline, so it is reported, not ranked.
    """
    out: dict = {}
    for r in result.rows:
        k = (r["dataset"], r["model"], r["method"])
        if str(r.get("status", "ok")).startswith("diverged"):
            out[k] = "diverged"
        else:
            out.setdefault(k, "ok")
    zero: dict = {}
    for (task, depth, _, method), sc in result.scores.items():
        for (metric, _), v in sc.items():
            if metric == "zero_map_share":
                zero.setdefault((task, depth, method), []).append(v)
    for k, vs in zero.items():
        if out.get(k) == "ok" and np.concatenate(vs).mean() > EMPTY_BOUND:
            out[k] = "empty"
    return out


def _grouped(result: SuiteResult, subsets: dict | None = None):
    """``(task, depth, method, metric, level, subset) -> {seed: per-point values}`` (seeds sorted).

    ``subsets``: ``task -> {name: boolean (P,) mask}``, applied to the ground-truth metrics.
    """
    groups: dict = {}
    for (task, depth, seed, method), sc in sorted(result.scores.items(), key=lambda kv: kv[0][2]):
        masks = {"all": None, **(subsets or {}).get(task, {})}
        for (metric, level), v in sc.items():
            level = float(level)
            level = np.nan if np.isnan(level) else level  # one NaN object: NaN keys from other processes differ
            for name, sel in masks.items():
                if sel is not None and METRICS[metric].category != "ground truth":
                    continue
                groups.setdefault((task, depth, method, metric, level, name), {})[seed] = v if sel is None else v[sel]
    return groups


def summarise(result: SuiteResult, subsets: dict | None = None, n_boot: int = 1000) -> list:
    """Rows per (task, model, method, metric, level, subset): one per trained seed (bootstrap over
    points) and one with ``seed = "all"`` (mean over seeds, seeds-then-points interval).

    ``subsets``: ``task -> {name: boolean (P,) mask}`` of extra point subsets (e.g. per class);
    ground-truth metrics are summarised on every subset, the others on ``"all"``.
    """
    stat = statuses(result)
    rows = []
    for (task, depth, method, metric, level, subset), by_seed in _grouped(result, subsets).items():
        info = METRICS[metric]
        base = dict(dataset=task, model=depth, method=method, metric=metric, level=level, subset=subset,
                    higher_is_better=info.higher_is_better, category=info.category,
                    status=stat.get((task, depth, method), "ok"))
        for s, v in by_seed.items():
            value, lo, hi = bootstrap_ci(v, n_boot=n_boot, seed=job_seed(task, depth, s, method, metric),
                                         statistic=info.statistic)
            rows.append(dict(base, seed=s, value=value, ci_low=lo, ci_high=hi, n=int(np.isfinite(v).sum())))
        value, lo, hi = hierarchical_ci(list(by_seed.values()), n_boot=n_boot,
                                        seed=job_seed(task, depth, method, metric), statistic=info.statistic)
        rows.append(dict(base, seed="all", value=value, ci_low=lo, ci_high=hi,
                         n=int(sum(np.isfinite(v).sum() for v in by_seed.values())), n_seeds=len(by_seed)))
    for (task, depth, method), s in stat.items():  # a job that overflowed has no scores: keep its row
        if s == "diverged" and not any(r["dataset"] == task and r["model"] == depth and r["method"] == method
                                       for r in rows):
            rows += [dict(r, status="diverged") for r in result.rows
                     if (r["dataset"], r["model"], r["method"]) == (task, depth, method)]
    return rows


def compare(result: SuiteResult, metrics=RANKED, n_boot: int = 1000, subsets: dict | None = None) -> list:
    """Every pair of methods on every model and metric, on the same (seed, point) units:
    difference ``a - b``, hierarchical interval, Wilcoxon ``p`` and Holm's ``p_holm`` over the
    pairs of one (model, metric, level) family. ``status_a``/``status_b`` say whether a method
    diverged there; :func:`verdicts` leaves such pairs out."""
    stat = statuses(result)
    groups = _grouped(result, subsets)
    fam: dict = {}
    for (task, depth, method, metric, level, subset), by_seed in groups.items():
        if metric in metrics and subset == "all":
            fam.setdefault((task, depth, metric, level), {})[method] = by_seed
    rows = []
    for (task, depth, metric, level), by_method in fam.items():
        names = list(by_method)
        info = METRICS[metric]
        block = []
        # a diverged method has no perturbation scores (only its degeneracy is measured): its pairs
        # are in the table, marked by their status, with no difference and no p
        unscored = sorted(m for (t, d, m), st in stat.items() if t == task and d == depth and st == "diverged"
                          and m not in by_method)
        for a in unscored:
            for b in names:
                block.append(dict(dataset=task, model=depth, metric=metric, level=level, method_a=a, method_b=b,
                                  higher_is_better=info.higher_is_better, n_seeds=0, status_a="diverged",
                                  status_b=stat.get((task, depth, b), "ok"), diff=np.nan, ci_low=np.nan,
                                  ci_high=np.nan, p=np.nan, n=0))
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                seeds = sorted(set(by_method[a]) & set(by_method[b]))
                r = paired([by_method[a][s] for s in seeds], [by_method[b][s] for s in seeds], n_boot=n_boot,
                           seed=job_seed(task, depth, metric, a, b), statistic="mean")
                block.append(dict(dataset=task, model=depth, metric=metric, level=level, method_a=a, method_b=b,
                                  higher_is_better=info.higher_is_better, n_seeds=len(seeds),
                                  status_a=stat.get((task, depth, a), "ok"), status_b=stat.get((task, depth, b), "ok"),
                                  **r))
        ranked = [r for r in block if r["status_a"] == "ok" and r["status_b"] == "ok"]
        for r, ph in zip(ranked, holm(np.array([r["p"] for r in ranked]))):
            r["p_holm"] = ph  # Holm over the pairs of ranked methods; pairs with a diverged method get NaN
        for r in block:
            r.setdefault("p_holm", np.nan)
        rows += block
    return rows


def verdicts(pairs: list, alpha: float = 0.05) -> dict:
    """``(task, depth, metric, level) -> {"best": [...], "beats_random": [...]}``.

    Beats random: significantly better (Holm-corrected) than the random map. Best: among the
    methods that beat random, those not significantly worse than any other method; a method
    that cannot be told from random maps is never called best (empty when none beats random)."""
    out: dict = {}
    for r in pairs:
        level = float(r["level"])
        key = (r["dataset"], r["model"], r["metric"], np.nan if np.isnan(level) else level)
        d = out.setdefault(key, {"methods": set(), "worse": set(), "beats_random": set()})
        a, b = r["method_a"], r["method_b"]
        if r.get("status_a", "ok") != "ok" or r.get("status_b", "ok") != "ok":
            continue  # a diverged method is reported, not ranked
        d["methods"].update((a, b))
        if not (r["p_holm"] < alpha):
            continue
        better_a = (r["diff"] > 0) == bool(r["higher_is_better"])
        d["worse"].add(b if better_a else a)
        if b == "random" and better_a:
            d["beats_random"].add(a)
        if a == "random" and not better_a:
            d["beats_random"].add(b)
    return {k: dict(best=sorted((v["methods"] & v["beats_random"]) - v["worse"] - set(BASELINES)),
                    beats_random=sorted(v["beats_random"])) for k, v in out.items()}


def agreement(summary: list, metrics=RANKED) -> list:
    """Kendall's W of the method ranking across trained seeds, per (task, model, metric)."""
    table: dict = {}
    for r in summary:
        if r["seed"] == "all" or r["metric"] not in metrics or r["subset"] != "all" or r["status"] != "ok" \
                or r["method"] in BASELINES:
            continue
        table.setdefault((r["dataset"], r["model"], r["metric"]), {}).setdefault(r["method"], {})[r["seed"]] = r["value"]
    rows = []
    for (task, depth, metric), by_method in table.items():
        most = max(len(v) for v in by_method.values())
        methods = sorted(m for m, v in by_method.items() if len(v) == most)  # methods run on every seed
        seeds = sorted(set.intersection(*(set(by_method[m]) for m in methods)))
        M = np.array([[by_method[m][s] for m in methods] for s in seeds])
        rows.append(dict(dataset=task, model=depth, metric=metric, n_seeds=len(seeds), n_methods=len(methods),
                         kendall_w=kendall_w(M)))
    return rows


# --------------------------------------------------------------------------- the book's suite
#: explained points per class (and subject, for ADL) when the profile says ``per_class=None``
DEFAULT_PER_CLASS = {"synthetic": 25, "adl": 9}
N_CLASSES = {"synthetic": 4, "adl": 11}
BIAS_CHANNEL = {"synthetic": 0, "adl": 0}
#: explainer options of the book's evaluation (Integrated Gradients' steps: the chapter's convergence check)
SUITE_OPTIONS = {"integrated-gradients": {"n_steps": 16, "bias_channel": 0}}


def suite(profile: str = "full", seed: int = 0) -> tuple[dict, list]:
    """The evaluation chapter's points and jobs under a profile (``spikeflux.profiles``).

    Returns ``points`` (task -> :class:`PointSet`: stratified test steps of the synthetic task
    with ground-truth masks, and of each ADL subject) and ``jobs``, every
    ``(task, depth, training seed, method)`` of the profile's methods plus the ``random`` and
    ``zero`` baselines. The benchmark ``benchmarks/bench_evaluation.py --suite`` times the same.
    """
    from .. import tasks
    from ..profiles import profile as get_profile

    P = get_profile(profile, "evaluation")
    S, D = get_profile(profile, "synthetic"), get_profile(profile, "adl")
    syn_data, syn_splits = tasks.synthetic(n_steps=S["n_steps"], seed=123)
    offset = syn_data.offsets()["test"]
    adl = tasks.adl_splits(tasks.adl_subjects(max_days=D["max_days"]))

    def per_class(task):  # the profile's points per class (and subject): one number, or one per task
        n = P["per_class"]
        return (n.get(task) if isinstance(n, dict) else n) or DEFAULT_PER_CLASS[task]

    points = {
        "synthetic": make_points("synthetic", {"synthetic": syn_splits["test"]}, per_class("synthetic"), P["window"],
                                 P["burn_in"], seed=seed, bias_channel=BIAS_CHANNEL["synthetic"], exclude_silent=True,
                                 ground_truth=lambda _, t, w: syn_data.ground_truth(offset + t, w)),
        "adl": make_points("adl", adl["test_by_subject"], per_class("adl"), P["window"], P["burn_in"], seed=seed,
                           bias_channel=BIAS_CHANNEL["adl"], exclude_silent=True),
    }
    from ..profiles import model_seeds

    once = set(P.get("first_seed_only", ()))
    jobs = [(task, depth, s, m) for task in points for depth in P["depths"]
            for k, s in enumerate(model_seeds(profile, task, seed)) for m in (*P["methods"], *BASELINES)
            if k == 0 or m not in once]
    return points, jobs


def explained_check(net: LIFNetwork, points: PointSet, methods, contrasts=(None, "mean", "runner-up"),
                    options: dict | None = None) -> list:
    """What each choice of explained quantity does to the maps: per (contrast, method), the share
    of points whose explained quantity is exactly 0 or negative, and the share of all-zero maps.

    The measurement behind :data:`spikeflux.config.CONTRAST` (the evaluation chapter shows it)."""
    options = options or {}
    _, clean = _clean(net, points)
    rows = []
    for contrast in contrasts:
        for method in methods:
            A, info = attribute(net, points.X, method, points.window, clean, contrast=contrast,
                                **options.get(method, {}))
            q = info["explained"]
            rows.append(dict(contrast="logit" if contrast is None else str(contrast), method=method, explained_zero=float((q == 0).mean()),
                             explained_negative=float((q < 0).mean()),
                             zero_map_share=float((np.abs(A).reshape(len(A), -1).max(1) == 0).mean()), n=len(A)))
    return rows


def _explained_job(task: str, depth: str, packed: dict, loader: Callable, idx, methods, contrasts,
                   options: dict) -> list:
    net = _net(loader, task, depth, 0)
    rows = explained_check(net, _points(packed).subset(idx), methods, contrasts, options)
    return [dict(r, dataset=task, model=depth) for r in rows]


def stratified_subset(points: PointSet, n_points: int, key: str) -> np.ndarray:
    """A seeded subset of about ``n_points`` indices of ``points``, the same number per label
    (all of a label's points if it has fewer); seeded by ``key`` and the task. Sorted."""
    rng = np.random.default_rng(job_seed(points.task, key))
    classes = np.unique(points.y)
    per = max(1, n_points // len(classes))
    idx = np.concatenate([rng.permutation(np.flatnonzero(points.y == c))[:per] for c in classes])
    return np.sort(idx[:n_points])


def run_explained_check(points: dict, depths, methods, *, n_points: int = 48, loader: Callable = load_trained,
                        contrasts=(None, "mean", "runner-up"), options: dict | None = None, executor=None,
                        workers: int = 1, progress: bool = True) -> list:
    """:func:`explained_check` on the first training seed of every (task, depth), on a stratified
    subset of ``n_points`` points per task (:func:`stratified_subset`), one job per model."""
    packed = {task: p.packed() for task, p in points.items()}
    keys = [(task, d) for task in points for d in depths]
    calls = [(_explained_job, (t, d, packed[t], loader, stratified_subset(points[t], n_points, "explained"),
                               tuple(methods), tuple(contrasts), options or {})) for t, d in keys]
    results = execute(calls, [len(points[t]) * (1 + list(depths).index(d)) for t, d in keys], executor=executor,
                      workers=workers, progress=progress, desc="explained")
    return [r for i in range(len(keys)) for r in results[i]]


def _sanity_job(job: tuple, packed: dict, loader: Callable, idx, contrast, options: dict) -> list:
    """Cascading randomisation and class sensitivity of one method on one model (seed ``job[2]``)."""
    from .sanity import cascading, class_sensitivity

    task, depth, model_seed, method = job
    net = _net(loader, task, depth, model_seed)
    pts = _points(packed).subset(idx)
    _, clean = _clean(net, pts)
    opts = options.get(method) or {}

    def explain_fn(n, X, c, contrast=contrast):
        return attribute(n, X, method, pts.window, c, contrast=contrast, **opts)[0]

    try:
        A = explain_fn(net, pts.X, clean)
        rows = cascading(net, pts.X, A, clean, explain_fn, seed=job_seed(task, depth, model_seed))
        rows.append(class_sensitivity(net, pts.X, clean, lambda n, X, c: explain_fn(n, X, c, contrast=None)))
    except FloatingPointError as err:  # relevance overflowed (diverging rules): the check is undefined
        rows = [dict(check="overflow", randomised_layers=0, spearman_abs=np.nan, spearman_signed=np.nan,
                     spearman_abs_support=np.nan, n=0, note=str(err)[:200])]
    return [dict(dataset=task, model=depth, seed=model_seed, method=method, **r) for r in rows]


def run_sanity(points: dict, jobs: list, *, n_points: int = 24, loader: Callable = load_trained,
               contrast=config.CONTRAST, options: dict | None = None, executor=None, workers: int = 1,
               progress: bool = True) -> list:
    """The sanity checks of :mod:`.sanity` for every ``(task, depth, seed, method)`` of ``jobs``
    (baselines skipped), on a seeded subset of ``n_points`` points per task (stratified by
    label): rows of ``sanity.csv``."""
    options = options or {}
    subsets = {task: stratified_subset(p, n_points, "sanity") for task, p in points.items()}
    packed = {task: p.packed() for task, p in points.items()}
    keys = [k for k in map(_job_key, jobs) if k[3] not in BASELINES]
    calls = [(_sanity_job, (k, packed[k[0]], loader, subsets[k[0]], contrast, options)) for k in keys]
    results = execute(calls, [_job_weight(k, points) for k in keys], executor=executor, workers=workers,
                      progress=progress, desc="sanity")
    return [r for i in range(len(keys)) for r in results[i]]


def ig_convergence(net: LIFNetwork, points: PointSet, steps=(4, 8, 16, 32, 64), n: int = 16,
                   bias_channel: int | None = None) -> list:
    """Integrated Gradients' convergence in its number of steps on ``n`` points spread over the set.

    Per step count: the median completeness gap against :math:`f(x) - f(\\bar x)` and the median
    relative change of the map (Frobenius) to the next step count. Rows for ``ig_steps.csv``.
    """
    from .metrics import frobenius

    pts = points.subset(np.unique(np.linspace(0, len(points) - 1, n).astype(int)))
    _, clean = _clean(net, pts)
    maps, rows = {}, []
    for s in steps:
        maps[s], info = attribute(net, pts.X, "integrated-gradients", pts.window, clean, n_steps=s,
                                  bias_channel=bias_channel)
        gap = np.abs(maps[s].sum((1, 2)) - info["target"]) / np.maximum(np.abs(info["target"]), 1e-12)
        rows.append(dict(n_steps=s, median_gap=float(np.median(gap)), n=len(pts)))
    for r, a, b in zip(rows, steps, steps[1:]):
        change = frobenius(maps[b] - maps[a]) / np.maximum(frobenius(maps[b]), 1e-300)
        r["change_to_next"] = float(np.median(change))
    return rows
