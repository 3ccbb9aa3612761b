r"""A labelled real anomaly: the MIT-BIH arrhythmia excerpt shipped inside the sktime wheel (offline).

sktime's wheel ships ``sktime/datasets/data/mitdb/mitdb.csv``, an ECG excerpt of the MIT-BIH
arrhythmia database (a real recording, 360 samples a second) with one labelled anomaly span
(a premature beat and the compensatory pause after it). sktime ships the file **without a
loader**, so :func:`load` reads it here: it is located with :func:`importlib.util.find_spec`
(which finds the package without importing it; ``importlib.resources.files("sktime")`` would
import sktime, about a second) and read with the standard library's :mod:`csv`.

The file: a header ``data,label``, then :data:`N_ROWS` rows of a finite voltage (mV) and a
label in {0, 1}. ``yahoo/yahoo.csv`` in the same folder is a *synthetic* Yahoo benchmark series
and is not used.

Input policy (no silent fixes): a missing file, a wrong header, a row that is not two fields,
a value that is not a finite number, a label outside {0, 1} or a row count other than
:data:`N_ROWS` raise a ``ValueError`` naming the data set, the file, the line and what was
expected; nothing is skipped, filled or cut.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NAME = "MIT-BIH arrhythmia excerpt (sktime's mitdb.csv)"
#: where the wheel keeps the file, relative to the sktime package folder
RELATIVE = ("datasets", "data", "mitdb", "mitdb.csv")
HEADER = ("data", "label")
#: rows of data in the shipped file (after the header)
N_ROWS = 7500
#: samples per second of the MIT-BIH recordings
SAMPLING_HZ = 360
INSTALL_HINT = "pip install 'sktime>=1.2,<2' (a dependency of spikeflux; make installs it)"


@dataclass(frozen=True)
class Record:
    """The recording as read: ``values`` ``(n,)`` float64 (mV), ``label`` ``(n,)`` int64 in {0, 1}, the file."""

    values: np.ndarray
    label: np.ndarray
    path: Path

    def spans(self) -> list[tuple[int, int]]:
        """The labelled anomaly spans as ``(first, last)`` rows, both inclusive."""
        edges = np.diff(np.concatenate([[0], self.label, [0]]))
        return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist()))


def locate() -> Path:
    """The path of ``mitdb.csv`` inside the installed sktime package (sktime is not imported)."""
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{NAME} is read from the sktime wheel, and sktime is not installed: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*RELATIVE)
    if not path.is_file():
        raise ValueError(f"{NAME}: {path} does not exist; this sktime install does not ship the file")
    return path


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{NAME}: {path}, line {line}: {column} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{NAME}: {path}, line {line}: {column} {text!r} is not finite")
    return v


def read(path: str | Path, n_rows: int | None = N_ROWS) -> Record:
    """Read and validate a ``data,label`` file (module docstring); ``n_rows=None`` accepts any row count."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{NAME}: {path} does not exist")
    values, labels = [], []
    with path.open(newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise ValueError(f"{NAME}: {path}, line 1: expected the header {','.join(HEADER)!r}, got "
                             f"{','.join(header) if header else 'an empty file'!r}")
        for line, row in enumerate(rows, start=2):
            if len(row) != 2:
                raise ValueError(f"{NAME}: {path}, line {line}: expected 2 fields (data,label), got {len(row)}")
            values.append(_number(row[0], path, line, "data"))
            label = _number(row[1], path, line, "label")
            if label not in (0.0, 1.0):
                raise ValueError(f"{NAME}: {path}, line {line}: label {row[1]!r} is not 0 or 1")
            labels.append(int(label))
    if n_rows is not None and len(values) != n_rows:
        raise ValueError(f"{NAME}: {path} has {len(values)} data rows, expected {n_rows}")
    if not values:
        raise ValueError(f"{NAME}: {path} has no data rows")
    return Record(np.asarray(values, dtype=np.float64), np.asarray(labels, dtype=np.int64), path)


def load(path: str | Path | None = None) -> Record:
    """The shipped recording (:func:`locate`), or the file ``path``, read by :func:`read`."""
    return read(locate() if path is None else path)


# --------------------------------------------------------------------------- the task: downsampled, split, encoded

#: the chronological split of the raw samples: train ``[0, 4500)``, validation ``[4500, 6000)``, test ``[6000, 7500)``;
#: the labelled span (rows 6936..7287) lies in the test part only
BOUNDS = (4500, 6000)


def downsample(values: np.ndarray, label: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Block means of ``factor`` samples, :math:`v_k = \frac1f \sum_{j<f} v[fk + j]`, and the block's label
    (1 if any of its samples is labelled). The length must be a multiple of ``factor`` (nothing is cut)."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    if len(values) % factor:
        raise ValueError(f"{NAME}: {len(values)} samples are not a multiple of factor={factor}; nothing is cut")
    return values.reshape(-1, factor).mean(1), label.reshape(-1, factor).max(1)


@dataclass(frozen=True)
class EcgTask:
    r"""The recording downsampled, split chronologically and delta-encoded (:func:`spikeflux.tasks.mitdb`).

    Attributes
    ----------
    values : ndarray ``(n,)`` float64
        Block means of ``factor`` raw samples (:func:`downsample`), one per step.
    label : ndarray ``(n,)`` int64
        The labelled anomaly, per step.
    factor : int
        Raw samples per step (a step lasts ``factor / 360`` s).
    bounds : dict
        ``split -> (lo, hi)`` in steps.
    threshold : ndarray ``(1,)``
        :math:`\vartheta`: the ``quantile`` of the nonzero :math:`|\Delta v|` of the training part.
    quantile : float
    path : Path
        The file read.
    """

    values: np.ndarray
    label: np.ndarray
    factor: int
    bounds: dict
    threshold: np.ndarray
    quantile: float
    path: Path

    #: channel names: the bias (on at every step), then the delta spikes up and down
    inputs = ("bias", "ecg up", "ecg down")

    @property
    def step_seconds(self) -> float:
        return self.factor / SAMPLING_HZ

    @property
    def span(self) -> tuple[int, int]:
        """The labelled span ``(first, last)`` in steps (both inclusive)."""
        idx = np.flatnonzero(self.label)
        return int(idx[0]), int(idx[-1])

    def encode(self, values: np.ndarray) -> np.ndarray:
        """``(n, 3)`` float32: the bias and the delta spikes (:func:`spikeflux.encoding.delta`, ``padding=True``)
        of ``values`` ``(n,)`` at the task's threshold."""
        from ..encoding import delta

        s = delta(np.asarray(values, dtype=np.float64)[:, None], self.threshold, padding=True)
        return np.concatenate([np.ones((len(s), 1), dtype=np.float32), s], axis=1)

    @property
    def x(self) -> np.ndarray:
        """The whole recording encoded, ``(n, 3)``."""
        return self.encode(self.values)

    def split(self) -> dict:
        """``{"train", "val", "test"} -> (x, y)``: the parts of the encoded recording and their labels
        (encoded as one series, so the first step of a part has its real predecessor)."""
        x = self.x
        return {k: (x[lo:hi], self.label[lo:hi]) for k, (lo, hi) in self.bounds.items()}


def prepare(record: Record, *, factor: int = 3, quantile: float = 0.8, bounds: tuple[int, int] = BOUNDS) -> EcgTask:
    """Downsample ``record`` by ``factor``, split it at the raw samples ``bounds`` and set the delta threshold
    on the training part. The labelled span must lie in the test part (it is the held-out anomaly)."""
    from ..encoding import delta_threshold

    n = len(record.values)
    lo, hi = bounds
    if not 0 < lo < hi < n or lo % factor or hi % factor:
        raise ValueError(f"bounds must be 0 < train end < val end < {n}, multiples of factor={factor}, got {bounds}")
    spans = record.spans()
    if not spans or any(first < hi for first, _ in spans):
        raise ValueError(f"{NAME}: the labelled spans {spans} must all lie in the test part (from sample {hi} on)")
    values, label = downsample(record.values, record.label, factor)
    steps = {"train": (0, lo // factor), "val": (lo // factor, hi // factor), "test": (hi // factor, n // factor)}
    threshold = delta_threshold(values[:lo // factor, None], quantile)
    return EcgTask(values, label, int(factor), steps, threshold, float(quantile), record.path)
