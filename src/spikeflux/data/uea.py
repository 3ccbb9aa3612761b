r"""Multivariate benchmarks of the UEA archive, as shipped inside the sktime wheel (offline).

A UEA classification problem is a set of *cases*: case :math:`k` is a real series
:math:`v^{(k)} \in \mathbb{R}^{L \times n}` (``L`` steps, ``n`` variables) with one class
label :math:`c_k`. It is read with sktime's own loader of the data set
(``sktime.datasets.load_basic_motions``, ...), which reads the ``.ts`` files of the wheel and
never downloads. The archive's train/test partition is kept; a validation set is carved from
the training cases, stratified by class and seeded.

Spike encoding (:func:`spikeflux.encoding.delta`, ``padding=True``): variable :math:`i`
becomes an *up* and a *down* channel, spiking when the change over one step reaches
:math:`\pm\vartheta_i`; :math:`\vartheta_i` is the ``quantile`` of the nonzero
:math:`|\Delta_i|` over the *training* cases only (:func:`spikeflux.encoding.delta_threshold`).
Channel 0 is the bias (a spike at every step), so ``n_in = 1 + 2n``.

Layout of a split as one series (the book's training loop runs on series): every case is a
*block* of ``rest`` bias-only steps followed by the case's ``L`` encoded steps,

.. math::

    x = [\,r, s^{(1)}, r, s^{(2)}, \dots\,], \qquad w[t] = 1 \iff t \text{ is the last step of a case},

with the label :math:`c_k` at every step of block :math:`k` and loss weight :math:`w` 1 only
at the case's last step: the model classifies at the last step. The rest lets the state
forget the previous case (``rest`` = 100 steps are five synaptic time constants of the
chapter's models, :math:`\alpha^{100} = e^{-5}`), and a block is the explained excerpt:
burn-in = ``rest``, window = ``L``. The order of the cases in the training and validation series is
shuffled with the task's seed (the archive lists them by class); the test series keeps the
archive's order.

Input policy (no silent fixes): a data set with missing values (NaN) or with cases of
unequal length is refused with a ``ValueError`` that names it; neither is padded, cut or filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..encoding import delta, delta_threshold

#: data sets whose files sktime's wheel ships, with the name of sktime's loader for each
SHIPPED = {"BasicMotions": "load_basic_motions", "JapaneseVowels": "load_japanese_vowels"}
#: variable names where the archive documents them
VARIABLES = {"BasicMotions": ("acc x", "acc y", "acc z", "gyro x", "gyro y", "gyro z")}
INSTALL_HINT = "pip install 'sktime>=1.2,<2' (a dependency of spikeflux; make installs it)"


def _loader(name: str):
    if name not in SHIPPED:
        raise ValueError(f"unknown UEA data set {name!r}: the sktime wheel ships {', '.join(SHIPPED)}")
    try:
        from sktime import datasets
    except ImportError as err:
        raise ImportError(f"UEA data set {name!r} is read with sktime's loader, and sktime is not installed: "
                          f"{INSTALL_HINT}") from err
    return getattr(datasets, SHIPPED[name])


def read(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The raw cases of ``split`` (``"train"`` or ``"test"``) of the archive: ``X`` ``(cases, L, n)``
    float64 (time on axis 1) and the labels as strings ``(cases,)``, read by sktime's loader.

    Raises ``ValueError`` naming the data set for NaNs or unequal lengths (module docstring).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    frame, labels = _loader(name)(split=split.upper(), return_X_y=True)  # nested frame: cases x variables
    cells = [[np.asarray(frame.iloc[k, i], dtype=np.float64) for i in range(frame.shape[1])]
             for k in range(frame.shape[0])]
    lengths = {len(c) for case in cells for c in case}
    if len(lengths) != 1:
        raise ValueError(f"UEA data set {name!r} ({split}) has series of unequal length ({min(lengths)} to "
                         f"{max(lengths)} steps); spikeflux.tasks.uea needs one length and does not pad or cut")
    X = np.stack([np.stack(case, axis=1) for case in cells])
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X).all(axis=(1, 2))).sum())
        raise ValueError(f"UEA data set {name!r} ({split}) has missing or infinite values in {bad} case(s); "
                         "spikeflux.tasks.uea does not fill them")
    return X, np.asarray(labels).astype(str)


def carve(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Boolean mask of the validation cases: ``round(share * n_c)`` cases of every class ``c``
    (at least one, at most ``n_c - 1``), drawn with ``numpy.random.default_rng(seed)``."""
    if not 0 < share < 1:
        raise ValueError(f"val must be a share in (0, 1), got {share}")
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            raise ValueError(f"class {c!r} has {len(idx)} training case(s); a validation case needs two")
        k = min(max(1, int(round(share * len(idx)))), len(idx) - 1)
        mask[rng.choice(idx, size=k, replace=False)] = True
    return mask


@dataclass
class UEAData:
    """A UEA data set, split, encoded and laid out as series (module docstring).

    Attributes
    ----------
    name : str
    raw : dict
        ``split -> (cases, L, n)`` float64, the values read by sktime.
    labels : dict
        ``split -> (cases,)`` int64 class index.
    spikes : dict
        ``split -> (cases, L, 2n)`` float32 delta spikes (up, down of each variable).
    classes : tuple of str
        Class names in index order (sorted).
    variables : tuple of str
    threshold : ndarray ``(n,)``
        :math:`\\vartheta_i`, from the training cases.
    quantile : float
    rest : int
    seed : int
    """

    name: str
    raw: dict
    labels: dict
    spikes: dict
    classes: tuple
    variables: tuple
    threshold: np.ndarray
    quantile: float
    rest: int
    seed: int

    @property
    def length(self) -> int:
        """``L``, the steps of a case."""
        return self.raw["train"].shape[1]

    @property
    def block(self) -> int:
        """Steps of a case in a series: ``rest + L``."""
        return self.rest + self.length

    @property
    def inputs(self) -> tuple:
        """Channel names: ``bias``, then ``<variable> up``, ``<variable> down``."""
        return ("bias", *(f"{v} {d}" for v in self.variables for d in ("up", "down")))

    def blocks(self, split: str) -> np.ndarray:
        """``(cases, rest + L, 1 + 2n)`` float32: each case as its block (bias on channel 0)."""
        s = self.spikes[split]
        out = np.zeros((len(s), self.block, 1 + s.shape[2]), dtype=np.float32)
        out[:, :, 0] = 1.0
        out[:, self.rest:, 1:] = s
        return out

    def series(self, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, w)``: the blocks of ``split`` end to end, the label of each block at all its steps,
        weight 1 at the last step of every case."""
        b = self.blocks(split)
        n = len(b)
        y = np.repeat(self.labels[split], self.block)
        w = np.zeros((n, self.block), dtype=np.float32)
        w[:, -1] = 1.0
        return b.reshape(n * self.block, -1), y.astype(np.int64), w.ravel()

    def last_steps(self, split: str) -> np.ndarray:
        """The step of the series of ``split`` at which each case is classified, ``(cases,)``."""
        return np.arange(1, len(self.labels[split]) + 1) * self.block - 1

    def split(self) -> dict:
        """``{"train", "val", "test"} -> (x, y, w)`` (:meth:`series`), as the other tasks' splits."""
        return {k: self.series(k) for k in ("train", "val", "test")}


def load(name: str = "BasicMotions", *, val: float = 0.2, quantile: float = 0.5, rest: int = 100,
         seed: int = 0) -> UEAData:
    """Read, split, encode and lay out a shipped UEA data set (module docstring).

    Parameters
    ----------
    name : str
        One of :data:`SHIPPED` (the chapter uses ``"BasicMotions"``).
    val : float
        Share of every class's training cases held out for validation.
    quantile : float
        Delta threshold :math:`\\vartheta_i`: this quantile of the nonzero :math:`|\\Delta_i|` of the
        training cases (validation cases excluded).
    rest : int
        Bias-only steps before every case.
    seed : int
        Seeds the validation draw and the order of the training and validation cases.
    """
    if isinstance(rest, bool) or not isinstance(rest, (int, np.integer)) or rest < 1:
        raise ValueError(f"rest must be a positive int, got {rest!r}")
    X_train, l_train = read(name, "train")
    X_test, l_test = read(name, "test")
    if X_train.shape[1:] != X_test.shape[1:]:
        raise ValueError(f"UEA data set {name!r}: train cases are {X_train.shape[1:]} (length, variables), "
                         f"test cases {X_test.shape[1:]}")
    classes = tuple(str(c) for c in sorted(set(l_train)))
    unseen = sorted(set(l_test) - set(classes))
    if unseen:
        raise ValueError(f"UEA data set {name!r}: test classes {unseen} do not occur in the training cases")
    index = {c: k for k, c in enumerate(classes)}
    held = carve(l_train, val, seed)
    rng = np.random.default_rng([seed, 1])
    order = {"train": rng.permutation(np.flatnonzero(~held)), "val": rng.permutation(np.flatnonzero(held))}
    raw = {k: X_train[i] for k, i in order.items()}
    labels = {k: np.array([index[c] for c in l_train[i]], dtype=np.int64) for k, i in order.items()}
    raw["test"], labels["test"] = X_test, np.array([index[c] for c in l_test], dtype=np.int64)
    threshold = delta_threshold(raw["train"], quantile, axis=1)
    spikes = {k: delta(v, threshold, axis=1, padding=True) for k, v in raw.items()}
    n = X_train.shape[2]
    variables = VARIABLES.get(name, tuple(f"dim {i}" for i in range(n)))
    return UEAData(name=name, raw=raw, labels=labels, spikes=spikes, classes=classes, variables=variables,
                   threshold=threshold, quantile=float(quantile), rest=int(rest), seed=int(seed))


def predict_cases(net, data: UEAData, split: str = "test") -> np.ndarray:
    """The class predicted at the last step of every case of ``split``, ``(cases,)``: each block
    (:meth:`UEAData.blocks`, rest then case) simulated from a zero state, as the explained excerpts are."""
    import torch

    from ..evaluation.points import predict_last

    X = torch.as_tensor(data.blocks(split), dtype=net.dtype, device=net.device)
    return predict_last(net, X).cpu().numpy()


def explained_points(data: UEAData, per_class: int | None = None, seed: int = 0):
    """The test cases to explain as a :class:`spikeflux.evaluation.PointSet`: ``per_class`` cases of every
    class (``None``: all), seeded; each excerpt is its block (burn-in ``rest``, window ``L``, ending at the
    case's last step), bias on channel 0, no ground truth (a real data set has none)."""
    from ..evaluation.points import PointSet, select_points

    y = data.labels["test"]
    chosen = np.arange(len(y)) if per_class is None else select_points(y, per_class, history=0, seed=seed)
    last = data.last_steps("test")
    return PointSet("uea", data.blocks("test")[chosen].astype(np.float64), y[chosen],
                    [("test", int(last[k])) for k in chosen], data.length, data.rest, bias_channel=0)


def longest_run(spikes: np.ndarray) -> int:
    """The longest run of consecutive spikes on one channel of one case in ``spikes`` ``(cases, L, c)``."""
    s = np.asarray(spikes) > 0
    run = np.zeros(s.shape[::2], dtype=int)  # (cases, c): the current run length
    best = 0
    for t in range(s.shape[1]):
        run = np.where(s[:, t], run + 1, 0)
        best = max(best, int(run.max(initial=0)))
    return best
