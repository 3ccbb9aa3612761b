r"""Every method on a few chosen predictions: the maps, their completeness and their reach.

The explanations chapter explains a handful of correctly predicted test steps per model
(``examples``: ``(task, depth) -> [(t, x)]``, each ``x`` an excerpt ``(burn_in + window, n_in)``
ending at the explained step) with every method, and Integrated Gradients at several step
counts. Both sweeps are here so that the chapter only shows their results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plots import support_lag
from .explanation import explain


def explain_examples(nets: dict, examples: dict, methods, window: int, contrast, options: dict | None = None):
    """Explain every example of every model with every method.

    Returns ``maps`` (``(task, depth, i, method) -> (n_in, window)`` array) and a frame with one
    row per map: the explained quantity ``explained`` :math:`f`, the relative completeness gap
    :math:`|\\sum A - f| / |f|` against it (``rel_gap``) and ``support``, the steps before
    :math:`t^*` that hold 99% of :math:`\\sum |A|` (:func:`spikeflux.plots.support_lag`).
    A map whose relevance overflows float64 (:class:`FloatingPointError`) is left out of ``maps``; its row
    has ``overflow`` True, ``rel_gap`` infinite and NaN elsewhere.
    ``options``: per-method keyword options of :func:`explain`.
    """
    options = options or {}
    maps, rows = {}, []
    for (task, depth), exs in examples.items():
        for i, (_, x) in enumerate(exs):
            for method in methods:
                try:
                    e = explain(nets[(task, depth)], x, len(x) - 1, method=method, window=window, contrast=contrast,
                                **options.get(method, {}))
                except FloatingPointError:  # the relevance overflowed float64 (DeepLIFT, αβ): no map, booked
                    rows.append(dict(task=task, model=depth, example=i, method=method, explained=np.nan,
                                     rel_gap=np.inf, support=np.nan, overflow=True))
                    continue
                A, f = e.attribution.numpy(), float(e.info["explained_value"])
                maps[(task, depth, i, method)] = A
                rows.append(dict(task=task, model=depth, example=i, method=method, explained=f,
                                 rel_gap=abs(A.sum() - f) / max(abs(f), 1e-12), support=support_lag(A),
                                 overflow=False))
    return maps, pd.DataFrame(rows)


def ig_step_gaps(nets: dict, examples: dict, steps, window: int, contrast, options: dict | None = None):
    """Integrated Gradients on the first example of every model at each step count of ``steps``:
    rows ``task, model, n_steps, rel_gap`` with the relative gap
    :math:`|\\sum A - (f(x) - f(\\bar x))| / |f(x) - f(\\bar x)|`. ``options``: IG's other options
    (e.g. ``bias_channel``)."""
    rows = []
    for (task, depth), exs in examples.items():
        if not exs:
            continue
        _, x = exs[0]
        for n_steps in steps:
            e = explain(nets[(task, depth)], x, len(x) - 1, method="integrated-gradients", window=window,
                        contrast=contrast, **{**(options or {}), "n_steps": n_steps})
            f_in, f_0 = float(e.info["f_input"][0]), float(e.info["f_baseline"][0])
            rows.append(dict(task=task, model=depth, n_steps=n_steps,
                             rel_gap=abs(float(e.info["completeness_gap"][0])) / max(abs(f_in - f_0), 1e-12)))
    return pd.DataFrame(rows)
