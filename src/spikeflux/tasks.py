"""The tasks as train/validation/test splits, sized by a profile.

- synthetic: :func:`spikeflux.data.synthetic.generate`, 70/30 chronological, the last
  tenth of the training span for validation;
- delayed cue: :func:`spikeflux.data.cue.generate`, split as the synthetic task, with
  per-step loss weights;
- ADL: per subject a chronological 60/20/20 split (``spec/tsa.md``); the training and
  validation spans of both subjects are concatenated (each cut to whole 900-step windows
  first, so no window mixes the two homes), the test spans are kept per subject;
- UEA benchmarks (BasicMotions): :func:`spikeflux.data.uea.load`, sktime's loader, the archive's
  train/test partition with a seeded, stratified validation share of the training cases, every
  case a block of rest and its delta spikes, with loss weight 1 at its last step;
- ECG (MIT-BIH excerpt): :func:`spikeflux.data.mitdb.load`, the file sktime ships without a loader,
  downsampled, split chronologically (the labelled anomaly in the test part only), delta-encoded.
"""

from __future__ import annotations

import numpy as np

from .data import adl, mitdb as _mitdb, uea as _uea
from .data.cue import CueData
from .data.cue import generate as generate_cue
from .data.synthetic import SyntheticData, generate

SECONDS_PER_DAY = 86_400


def synthetic(n_steps: int = 900_000, seed: int = 123) -> tuple[SyntheticData, dict]:
    """The synthetic series and its splits ``{"train", "val", "test"} -> (x, y)``."""
    data = generate(n_steps=n_steps, seed=seed)
    return data, data.split(train=0.7, val=0.1)


def cue(n_steps: int = 300_000, seed: int = 7, **options) -> tuple[CueData, dict]:
    """The delayed-cue series (:func:`spikeflux.data.cue.generate`, ``options`` go there) and its
    splits ``{"train", "val", "test"} -> (x, y, w)``, 70/30 chronological with the last tenth of
    the training span for validation; ``w`` is 1 at the explained steps (the loss weights of
    :func:`spikeflux.training.train`). Ground-truth masks: ``data.ground_truth(offset + t, window)``
    with ``offset = data.offsets()["test"]`` for test step ``t``.
    """
    data = generate_cue(n_steps=n_steps, seed=seed, **options)
    return data, data.split(train=0.7, val=0.1)


def uea(name: str = "BasicMotions", *, val: float = 0.2, quantile: float = 0.5, rest: int = 100,
        seed: int = 0) -> tuple[_uea.UEAData, dict]:
    """A UEA data set shipped in sktime's wheel (:func:`spikeflux.data.uea.load`, read offline with sktime's
    loader) and its splits ``{"train", "val", "test"} -> (x, y, w)``: the cases of each split end to end,
    each as ``rest`` bias-only steps and its delta spikes (bias on channel 0), ``w`` 1 at the last step of
    every case (classification at the last step). ``val`` of every class's training cases validate
    (seeded); the delta threshold is the ``quantile`` of the training cases' nonzero changes.
    """
    data = _uea.load(name, val=val, quantile=quantile, rest=rest, seed=seed)
    return data, data.split()


def mitdb(*, factor: int = 3, quantile: float = 0.8, bounds: tuple[int, int] = _mitdb.BOUNDS,
          path=None) -> tuple[_mitdb.EcgTask, dict]:
    """The MIT-BIH excerpt shipped in sktime's wheel (:func:`spikeflux.data.mitdb.load`, validated) as an
    :class:`~spikeflux.data.mitdb.EcgTask` and its splits ``{"train", "val", "test"} -> (x, y)``: block means of
    ``factor`` samples, split at the raw samples ``bounds``, delta spikes at the ``quantile`` of the training
    part's nonzero changes, bias on channel 0; ``y`` is the labelled anomaly (1 only in the test part).
    """
    data = _mitdb.prepare(_mitdb.load(path), factor=factor, quantile=quantile, bounds=bounds)
    return data, data.split()


def _whole_windows(x: np.ndarray, y: np.ndarray, window: int):
    n = (len(y) // window) * window
    return x[:n], y[:n], len(y) - n


def adl_subjects(max_days: float | None = None, root=None) -> dict[str, adl.Subject]:
    """Subjects A and B (cached encoding), optionally cut to their first ``max_days`` days."""
    subjects = {name: adl.load_subject(name, root=root) for name in ("A", "B")}
    if max_days is None:
        return subjects
    n = int(max_days * SECONDS_PER_DAY)
    return {k: _truncate(s, n) for k, s in subjects.items()}


def _truncate(s: adl.Subject, n: int) -> adl.Subject:
    from dataclasses import replace

    return replace(s, x=s.x[:n], y=s.y[:n])


def adl_splits(subjects: dict[str, adl.Subject], window: int = 900) -> dict:
    """Combined train/val splits of both subjects and per-subject test splits.

    Returns ``{"train": (x, y), "val": (x, y), "test": (x, y) of subject A then B,
    "test_by_subject": {name: (x, y)}, "dropped": {split: steps}}``. The steps cut off to
    make whole windows are reported in ``dropped``, never silently lost.
    """
    parts = {name: adl.split_subject(s) for name, s in subjects.items()}
    out: dict = {"dropped": {}, "test_by_subject": {}}
    for split in ("train", "val"):
        xs, ys, dropped = [], [], 0
        for name, p in parts.items():
            x, y, d = _whole_windows(*p[split], window)
            xs.append(x), ys.append(y)
            dropped += d
        out[split] = (np.concatenate(xs), np.concatenate(ys))
        out["dropped"][split] = dropped
    for name, p in parts.items():
        out["test_by_subject"][name] = p["test"]
    out["test"] = tuple(np.concatenate(a) for a in zip(*out["test_by_subject"].values()))
    return out


def correct_examples(net, x: np.ndarray, y: np.ndarray, classes, n: int, length: int, rng: np.random.Generator,
                     tries: int = 40) -> list[tuple[int, "torch.Tensor"]]:
    r"""Up to ``n`` test steps :math:`t^*` of the given ``classes`` (in order, one per class) that ``net``
    predicts correctly, each with the float64 excerpt of its last ``length`` steps ``(length, n_in)``.

    Per class, up to ``tries`` candidate steps (from step ``length`` of ``x`` on) are drawn in the
    order of ``rng.permutation`` and the first one predicted correctly at its last step is kept.
    """
    import torch

    chosen = []
    for c in classes:
        cand = np.flatnonzero(y[length:] == c) + length
        for t in rng.permutation(cand)[:tries]:
            ex = torch.as_tensor(x[t - length + 1:t + 1], dtype=torch.float64)
            with torch.no_grad():
                if int(net(ex[None]).output[0, -1].argmax()) == c:
                    chosen.append((int(t), ex))
                    break
        if len(chosen) >= n:
            return chosen
    return chosen
