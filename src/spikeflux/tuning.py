r"""Greedy hyper-parameter search, one parameter at a time (as the original tuned the ADL models).

Start from a configuration :math:`\theta_0` (the book's :data:`spikeflux.models.HYPERPARAMS`
by default). Step :math:`k` varies one parameter :math:`p_k` over its grid :math:`G_k`,
keeping every other parameter at its current value, trains a fresh network for a fixed
number of epochs per value, and keeps the value with the lowest validation NLL:

.. math::

    \theta_k = \theta_{k-1}\big[p_k \leftarrow v_k^*\big], \qquad
    v_k^* = \operatorname*{arg\,min}_{v \in G_k} \mathrm{NLL}_{val}\big(\theta_{k-1}[p_k \leftarrow v]\big).

Ties go to the first value in grid order; a non-finite loss (a diverged run) never wins
unless every value diverged. A configuration already trained at an earlier step (the
value chosen before is usually in the next grid too) is not trained again: its result
is reused and the row says so (``trained = False``).

:func:`greedy` is the search itself, for any objective; :func:`greedy_search` plugs in
the training loop of :mod:`spikeflux.training` and returns a tidy table.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .models import HYPERPARAMS, build
from .training import TrainConfig, train

#: Columns of the table :func:`greedy_search` returns, in order.
COLUMNS = ("task", "depth", "step", "parameter", "value", "val_nll", "best_val_nll", "epochs",
           "seconds", "trained", "chosen", "chosen_value")
#: Parameters the search understands: network (``build``) and optimiser (``TrainConfig``) settings.
PARAMETERS = ("dt", "tau_syn", "tau_mem", "lr", "batch_size", "hidden")


def _plain(obj):
    """JSON fallback for numpy scalars."""
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot encode {obj!r} as JSON")


def _key(config: Mapping) -> str:
    """A hashable, order-free key of a configuration (lists and floats included)."""
    return json.dumps(dict(config), sort_keys=True, default=_plain)


def _best(losses: Sequence[float]) -> int:
    """Index of the lowest finite loss (first on ties); 0 if none is finite."""
    finite = np.array([v if math.isfinite(v) else math.inf for v in losses], dtype=float)
    return int(np.argmin(finite))


def greedy(start: Mapping, grid: Mapping[str, Sequence], objective: Callable[[dict], dict]) -> tuple[list[dict], dict]:
    """Coordinate-wise greedy minimisation of ``objective(config)["val_nll"]``.

    Parameters
    ----------
    start : mapping
        The initial configuration :math:`\\theta_0`.
    grid : mapping
        Parameter -> values to try, in the order the parameters are tuned.
    objective : callable
        ``config -> dict`` with at least ``val_nll``; any other keys are copied to the rows.

    Returns
    -------
    rows : list of dict
        One per trial: ``step`` (1-based), ``parameter``, ``value``, the objective's keys,
        ``trained`` (False when an identical configuration was reused), ``chosen`` and
        ``chosen_value`` (the value kept at that step).
    config : dict
        The final configuration.
    """
    unknown = [p for p in grid if p not in start]
    if unknown:
        raise ValueError(f"grid parameters {unknown} are not in the start configuration {sorted(start)}")
    config, seen, rows = dict(start), {}, []
    for step, (param, values) in enumerate(grid.items(), start=1):
        if len(values) == 0:
            raise ValueError(f"empty grid for {param!r}")
        trials = []
        for value in values:
            trial = {**config, param: value}
            key = _key(trial)
            trained = key not in seen
            if trained:
                seen[key] = dict(objective(trial))
            trials.append(dict(step=step, parameter=param, value=value, **seen[key], trained=trained))
        best = _best([t["val_nll"] for t in trials])
        config[param] = values[best]
        for i, t in enumerate(trials):
            rows.append({**t, "chosen": i == best, "chosen_value": values[best]})
    return rows, config


def count_trainings(grid: Mapping[str, Sequence], start: Mapping) -> int:
    """How many networks :func:`greedy` trains for ``grid`` from ``start`` (repeats reused).

    Every value is a new configuration except, from the second step on, the current value
    of the parameter being varied: that configuration is the one chosen at the step before.
    """
    steps = list(grid.items())
    return sum(len(v) for _, v in steps) - sum(start[p] in v for p, v in steps[1:])


def trial(task: str, depth: str, splits: dict, config: Mapping, epochs: int, seed: int = 0,
          device=None) -> dict:
    """Train one configuration for exactly ``epochs`` epochs; its validation NLL at the end.

    Returns ``val_nll`` (after the last epoch), ``best_val_nll`` (lowest over the epochs),
    ``epochs`` and ``seconds`` (wall time of the training).
    """
    net = build(task, depth, seed=seed, **{k: v for k, v in config.items() if k not in ("lr", "batch_size")})
    if device is not None:
        net = net.to(device)
    cfg = TrainConfig(lr=config["lr"], batch_size=int(config["batch_size"]), max_epochs=epochs,
                      patience=epochs, seed=seed)  # patience = epochs: never stops early
    t0 = time.perf_counter()
    hist = train(net, splits["train"], splits["val"], cfg, progress=False)
    return dict(val_nll=float(hist.val_loss[-1]), best_val_nll=float(hist.best_val_loss),
                epochs=len(hist.val_loss), seconds=time.perf_counter() - t0)


def greedy_search(task: str, depth: str, splits: dict, grid: Mapping[str, Sequence], epochs: int = 20, *,
                  seed: int = 0, start: Mapping | None = None, device=None) -> pd.DataFrame:
    """Greedy search over ``grid`` (in its order) for one model, trained on ``splits``.

    Parameters
    ----------
    task, depth : str
        The model, as in :func:`spikeflux.models.build` (e.g. ``"adl"``, ``"2L"``).
    splits : dict
        ``train`` and ``val`` ``(x, y)`` arrays (the test split is never touched).
    grid : mapping
        Parameter (one of :data:`PARAMETERS`) -> values, tuned in this order.
    epochs : int
        Training epochs per trial; the criterion is the validation NLL after the last one.
    seed : int
        Weight initialisation and batch order, the same for every trial.
    start : mapping, optional
        Overrides of the starting configuration (default: :data:`HYPERPARAMS`).
    device : optional
        Where to train (``torch`` device).

    Returns
    -------
    pandas.DataFrame
        One row per trial with the columns :data:`COLUMNS`.
    """
    bad = [p for p in grid if p not in PARAMETERS]
    if bad:
        raise ValueError(f"cannot tune {bad}; tunable parameters: {', '.join(PARAMETERS)}")
    if depth == "1L" and any(len(h) for h in grid.get("hidden", [])):
        raise ValueError("a 1L model has no hidden layer: leave 'hidden' out of its grid")
    base = {**HYPERPARAMS[(task, depth)], **(start or {})}
    rows, _ = greedy(base, grid, lambda cfg: trial(task, depth, splits, cfg, epochs, seed, device))
    frame = pd.DataFrame(rows)
    frame.insert(0, "depth", depth)
    frame.insert(0, "task", task)
    return frame[list(COLUMNS)]


def chosen(results: pd.DataFrame) -> dict[tuple[str, str], dict]:
    """The value kept for every tuned parameter, per ``(task, depth)``."""
    picked = results[results["chosen"]]
    return {(task, depth): dict(zip(g["parameter"], g["value"]))
            for (task, depth), g in picked.groupby(["task", "depth"], sort=False)}


def write_results(results: pd.DataFrame, path: str | Path) -> Path:
    """Save a results table as CSV; ``value`` and ``chosen_value`` are JSON-encoded (lists survive).

    The wall times (``seconds``) go to a sibling ``<stem>_timings.csv`` (one line per row, in
    the same order), so that the results file is the same from run to run with one seed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = results.copy()
    for col in ("value", "chosen_value"):
        out[col] = out[col].map(lambda v: json.dumps(v, default=_plain))
    out.drop(columns="seconds").to_csv(path, index=False)
    out[["seconds"]].to_csv(_timings_path(path), index=False)
    return path


def _timings_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}_timings.csv")


def read_results(path: str | Path) -> pd.DataFrame:
    """Inverse of :func:`write_results` (``seconds`` is NaN when the timings file is missing)."""
    path = Path(path)
    frame = pd.read_csv(path, dtype={"value": str, "chosen_value": str})
    for col in ("value", "chosen_value"):
        frame[col] = frame[col].map(json.loads)
    timings = _timings_path(path)
    seconds = pd.read_csv(timings)["seconds"] if timings.is_file() else None
    if seconds is not None and len(seconds) != len(frame):
        raise ValueError(f"{timings} has {len(seconds)} rows, {path} has {len(frame)}: written by different runs")
    frame["seconds"] = seconds.to_numpy() if seconds is not None else float("nan")
    return frame[list(COLUMNS)]


def shown(value) -> str:
    """A hyper-parameter value as the tables print it: ``–`` for none, floats with ``:g``."""
    return "–" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def grid_table(grids: Mapping[str, Mapping[str, Sequence]], task: str = "adl") -> tuple[pd.DataFrame, dict[str, int]]:
    """The search grids side by side (one column per depth, values joined) with the number of trainings
    each needs from the book's values (:func:`count_trainings`); returns the table and those counts."""
    n_train = {d: count_trainings(g, HYPERPARAMS[(task, d)]) for d, g in grids.items()}
    table = pd.DataFrame({d: {p: ", ".join(map(str, v)) for p, v in g.items()} for d, g in grids.items()})
    table.loc["trainings"] = [str(n_train[d]) for d in table.columns]
    table.index.name = "parameter"
    return table, n_train


def compare_chosen(results: pd.DataFrame, depths: Sequence[str], task: str = "adl") -> pd.DataFrame:
    """Per depth and parameter: the book's value, the value the search chose (``–`` if none) and the
    validation NLL of the chosen trial (NaN if none), indexed by ``(model, parameter)``."""
    picked = chosen(results) if len(results) else {}
    rows = []
    for depth in depths:
        hp = HYPERPARAMS[(task, depth)]
        found = picked.get((task, depth), {})
        best = results[(results.depth == depth) & results.chosen] if len(results) else results
        for p in PARAMETERS:
            if depth == "1L" and p == "hidden":
                continue
            row = best[best.parameter == p]
            rows.append(dict(model=depth, parameter=p, book=shown(hp[p]), search=shown(found.get(p)),
                             val_nll=float(row.val_nll.iloc[0]) if len(row) else np.nan))
    return pd.DataFrame(rows).set_index(["model", "parameter"])


def hyperparameter_table(task: str, depths: Sequence[str]) -> pd.DataFrame:
    r"""The book's hyper-parameters of ``task`` (:data:`~spikeflux.models.HYPERPARAMS`), one row per depth, with
    the decays per step :math:`\alpha, \beta` (:func:`spikeflux.snn.decays`) in columns ``alpha``, ``beta``."""
    from .snn import decays

    table = pd.DataFrame({d: HYPERPARAMS[(task, d)] for d in depths}).T
    table["alpha"], table["beta"] = zip(*(decays(*r) for r in table[["dt", "tau_syn", "tau_mem"]].to_numpy(float)))
    table.index.name = "model"
    return table


def time_estimate(n_train: Mapping[str, int], epochs: int, timings: str | Path) -> str:
    """A sentence estimating the full search's time from the seconds per epoch the ADL chapter measured under
    the full profile (``timings``: its ``adl_timings.csv``), or saying why it cannot."""
    timings = Path(timings)
    spe = pd.read_csv(timings).query("profile == 'full'") if timings.is_file() else pd.DataFrame()
    if not len(spe):
        return "a time this execution cannot estimate (execute the ADL chapter with the full profile first)"
    spe = spe.set_index("model")["seconds_per_epoch"]
    hours = sum(n_train[d] * epochs * spe[d] for d in n_train) / 3600
    return (f"about {hours:.1f} hours at the speed per epoch the ADL chapter measured with the book's values "
            "(larger batches and smaller hidden layers train faster, so this is a rough guide)")


def run_searches(setup: Mapping, *, seed: int = 0, device=None, write_to: str | Path | None = None) -> pd.DataFrame:
    """:func:`greedy_search` for every depth of ``setup["grids"]`` on the ADL splits of ``setup["max_days"]``
    days, ``setup["epochs"]`` epochs per trial; with ``write_to``, the results so far are written there
    (:func:`write_results`) after each depth, so an interrupted run keeps the models it finished."""
    from . import tasks

    splits = tasks.adl_splits(tasks.adl_subjects(max_days=setup["max_days"]))
    parts = []
    for depth, grid in setup["grids"].items():
        parts.append(greedy_search("adl", depth, splits, grid, epochs=setup["epochs"], seed=seed, device=device))
        if write_to is not None:
            write_results(pd.concat(parts, ignore_index=True), write_to)
    return pd.concat(parts, ignore_index=True)


def status_text(mode: str, n_trials: int, results_name: str, setup: Mapping | None = None) -> str:
    """What this execution of the tuning chapter did: ``mode`` ``"quick"`` (a tiny check run), ``"run"`` (the
    full search) or ``"show"`` (earlier results read from ``results_name``, if any)."""
    if mode not in ("quick", "run", "show"):
        raise ValueError(f"mode must be 'quick', 'run' or 'show', got {mode!r}")
    days = "all days" if mode != "quick" else f"the first {setup['max_days']} days"
    return {
        "quick": (f"Under the quick profile this execution ran a tiny search ({n_trials} trials on {days} "
                  f"of each subject, {setup['epochs'] if setup else 0} epoch per trial) to check that the code works; "
                  "its numbers say nothing about good hyper-parameters and are not saved."),
        "run": f"This execution ran the full search ({n_trials} trials) and wrote {results_name}.",
        "show": (f"This execution did not run the search; it shows the results of an earlier run read from "
                 f"{results_name} ({n_trials} trials)." if n_trials else
                 f"This execution did not run the search, and no earlier results ({results_name}) were found: "
                 "only the book's values are shown."),
    }[mode]
