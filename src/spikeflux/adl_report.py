r"""The ADL chapter's result tables (``notebooks/adl.md``): what the trained models score and what they get wrong.

- :func:`fit_results`: per trained model (depth, seed) the training row and the test balanced
  accuracy with its block-bootstrap interval over both subjects' test spans (``"A+B"``) and per
  subject, with the number of classes present and chance level :math:`1/n_\text{present}`;
- :func:`ranking`: the best model by point estimate and whether its interval overlaps the
  runner-up's;
- :func:`confusion_rates` / :func:`confusions`: the confusion matrix per true class and its
  off-diagonal cells as rows;
- :func:`error_summary`: the chapter's sentences about the errors of one model;
- :func:`read_benchmark` / :func:`gap_table`: the recorded attempts at closing the gap to the
  non-spiking baselines (``benchmarks/adl_gap.py``), with their provenance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .training import balanced_accuracy_ci, predict_series


def fit_results(trained: dict, splits: dict, seeds, n_classes: int, *, seed: int = 0, profile: str = ""):
    """``(fitted, histories, training, accuracy_all)`` from ``models.fit_all``'s ``{(depth, s): (net, history, metrics)}``.

    ``fitted``/``histories``: depth -> ``(net, test predictions)`` / history of the first seed's model;
    ``training``: one row per depth of the first seed (sizes, epochs, best epoch, early stop, wall
    times, the steps the streams left out), index ``model``; ``accuracy_all``: one row per model,
    seed and test span (``"A+B"`` then each subject), intervals seeded with ``seed``.
    """
    y_test = splits["test"][1]
    fitted, histories, train_rows, acc_rows = {}, {}, [], []
    for (depth, s), (net, hist, m) in trained.items():
        common = dict(model=depth, epochs=len(hist.val_loss), best_epoch=hist.best_epoch + 1)
        if s == seeds[0]:  # the first seed's model is the one the chapter's detailed tables describe
            fitted[depth], histories[depth] = (net, m["pred"]), hist
            train_rows.append(dict(**common, sizes=str(net.sizes), stopped_early=hist.stopped_early,
                                   seconds_per_epoch=float(np.mean(hist.epoch_seconds)),
                                   train_seconds=float(np.sum(hist.epoch_seconds)),
                                   dropped_train=hist.dropped_steps["train"], dropped_val=hist.dropped_steps["val"]))
        scored = {"A+B": (y_test, m["pred"])}
        for name, (x, y) in splits["test_by_subject"].items():
            scored[name] = (y, predict_series(net, x).argmax(1))
        for name, (y, pred) in scored.items():
            ba, lo, hi = balanced_accuracy_ci(y, pred, n_classes, seed=seed)
            n_present = int((np.bincount(y, minlength=n_classes) > 0).sum())
            acc_rows.append(dict(**common, subject=name, balanced_accuracy=ba, ci_low=lo, ci_high=hi,
                                 test_steps=len(y), classes_present=n_present, chance=1 / n_present,
                                 profile=profile, seed=s))
    return fitted, histories, pd.DataFrame(train_rows).set_index("model"), pd.DataFrame(acc_rows)


def ranking(overall: pd.DataFrame) -> tuple[str, str]:
    """``(best, text)``: the model of largest ``balanced_accuracy`` in ``overall`` (index model, columns
    balanced_accuracy, ci_low, ci_high) and a sentence on whether its interval overlaps the runner-up's."""
    best = overall.balanced_accuracy.idxmax()
    runner = overall.balanced_accuracy.drop(best).idxmax()
    overlap = overall.ci_low[best] <= overall.ci_high[runner]
    text = (f"{best}, whose interval {'overlaps' if overlap else 'lies above'} that of the runner-up, "
            f"{runner}" + (", so this test set does not settle the order between them" if overlap else ""))
    return best, text


def confusion_rates(cm: np.ndarray) -> np.ndarray:
    """Each row of the confusion matrix ``cm`` (true x predicted) over its sum; NaN rows for absent classes."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return cm / cm.sum(1, keepdims=True)


def confusions(cm: np.ndarray, classes) -> pd.DataFrame:
    """The non-zero off-diagonal cells of ``cm``: true, predicted, seconds, share_of_true, share_of_errors."""
    rate = confusion_rates(cm)
    n = len(classes)
    errors = pd.DataFrame([
        dict(true=classes[i], predicted=classes[j], seconds=int(cm[i, j]), share_of_true=rate[i, j])
        for i in range(n) for j in range(n) if i != j and cm[i, j] > 0
    ])
    errors["share_of_errors"] = errors.seconds / int(cm.sum() - np.trace(cm))
    return errors


def _pair(r, share: str) -> str:
    whose = "its seconds" if share == "share_of_true" else "all errors"
    return f"{r.true} taken for {r.predicted} ({r[share]:.0%} of {whose})"


def error_summary(cm: np.ndarray, pred: np.ndarray, recall: pd.DataFrame, model: str, classes) -> tuple[dict, pd.DataFrame]:
    """The errors of ``model``: ``(texts, table)``.

    ``cm``: its confusion matrix (true x predicted), ``pred``: its test predictions, ``recall``: the
    per-class recall table (index the classes; columns ``test seconds``, one per model, ``silent share``,
    the share of a class's test seconds in which no sensor is on). ``texts``: the chapter's glue names
    ``adl-…`` -> text; ``table``: the five largest confusions in seconds and as a share of the true class.
    """
    errors = confusions(cm, classes)
    n_errors = int(cm.sum() - np.trace(cm))
    support = recall["test seconds"].to_numpy()
    by_rate = errors.sort_values("share_of_true", ascending=False).head(5).reset_index(drop=True)
    by_seconds = errors.sort_values("seconds", ascending=False).head(5).reset_index(drop=True)
    predicted = np.bincount(pred, minlength=len(classes))
    never = [c for c, n, s in zip(classes, predicted, support) if n == 0 and s > 0]
    other = list(classes).index("Other")
    other_share = (cm[other].sum() - cm[other, other] + cm[:, other].sum() - cm[other, other]) / n_errors
    received = cm.sum(0) - np.diag(cm)
    sink = int(np.argmax(received))
    share = recall["silent share"]
    mostly = share[(share >= 0.5) & (share.index != classes[sink])].sort_values(ascending=False)
    top_recall = recall[model].drop(classes[sink]).dropna().sort_values(ascending=False).head(3)
    texts = {
        "adl-confusions-rate": "; ".join(_pair(r, "share_of_true") for _, r in by_rate.head(3).iterrows()),
        "adl-confusions-seconds": "; ".join(_pair(r, "share_of_errors") for _, r in by_seconds.head(3).iterrows()),
        "adl-never": ", ".join(never) or "none",
        "adl-n-never": f"{len(never)}",
        "adl-error-share": f"{n_errors / cm.sum():.0%}",
        "adl-other-share": f"{other_share:.0%}",
        "adl-sink": classes[sink],
        "adl-sink-share": f"{received[sink] / n_errors:.0%}",
        "adl-sink-silent": f"{share.iloc[sink]:.0%}",
        "adl-silent-classes": ", ".join(f"{c} ({v:.0%} silent)" for c, v in mostly.items()) or "none",
        "adl-best-recalled": ", ".join(f"{c} (recall {r:.2f}, {share[c]:.0%} silent)" for c, r in top_recall.items()),
    }
    table = pd.concat([by_seconds.assign(rank="by seconds").set_index(["rank", "true", "predicted"]),
                       by_rate.assign(rank="by share of the class").set_index(["rank", "true", "predicted"])])
    return texts, table


def read_benchmark(path) -> tuple[pd.DataFrame, dict]:
    """A recorded benchmark CSV: its rows and the ``# key: value`` lines of its header (command, commit, machine)."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no recorded benchmark (run the command in its README to record it)")
    meta = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
    return pd.read_csv(path, comment="#"), meta


def gap_table(rows: pd.DataFrame, baseline: str = "baseline", depth: str = "2L") -> pd.DataFrame:
    """One row per attempt (first-seen order) of ``benchmarks/adl_gap.py``'s rows of ``depth``, over the seeds it shares with
    ``baseline``: the validation balanced accuracy per seed (``val s<seed>``), the mean change of validation and
    test (A+B) balanced accuracy against ``baseline`` on the same seeds (``Δ val``, ``Δ test``), the mean
    test balanced accuracy (A+B, A, B), epochs and CPU seconds per run. Attempts whose seeds include none of the
    baseline's are left out."""
    if "depth" in rows:
        rows = rows[rows.depth == depth]
    base = rows[rows.attempt == baseline].set_index("seed")
    out = []
    for name, g in rows.groupby("attempt", sort=False):
        g = g[g.seed.isin(base.index)].set_index("seed").sort_index()
        if not len(g):
            continue
        row = {f"val s{s}": v for s, v in g.val_ba.items()}
        row.update({"Δ val": (g.val_ba - base.val_ba[g.index]).mean(),
                    "Δ test": (g.test_ba_AB - base.test_ba_AB[g.index]).mean(),
                    "test A+B": g.test_ba_AB.mean(), "test A": g.test_ba_A.mean(), "test B": g.test_ba_B.mean(),
                    "epochs": g.epochs.mean(), "CPU s": g.cpu_s.mean(), "seeds": len(g)})
        out.append(dict(attempt=name, **row))
    table = pd.DataFrame(out, columns=None if out else ["attempt"]).set_index("attempt")
    per_seed = sorted((c for c in table.columns if c.startswith("val s")), key=lambda c: int(c[5:]))
    return table[per_seed + [c for c in table.columns if c not in per_seed]]


def gap_by_model(rows: pd.DataFrame, depths) -> pd.DataFrame:
    """:func:`gap_table` of every depth of ``depths`` present in ``rows``, index ``(model, attempt)``, the
    per-seed validation columns first in seed order."""
    table = pd.concat({d: gap_table(rows, depth=d) for d in depths if d in set(rows.depth)}, names=["model"])
    per_seed = sorted((c for c in table.columns if c.startswith("val s")), key=lambda c: int(c[5:]))
    return table[per_seed + [c for c in table.columns if c not in per_seed]]
