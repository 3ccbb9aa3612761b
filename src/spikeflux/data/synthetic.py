r"""The synthetic task of TSA (``spec/tsa.md``), regenerated from a seed.

The series is a run of consecutive segments. Each segment has a random length drawn
uniformly from ``1..max_segment-1`` (the original drew ``randint(600)``; a zero-length
draw makes no segment, so it is redrawn) and a pattern :math:`(x_1, x_2) \in \{0,1\}^2`
drawn uniformly, held constant over the segment (an input that is on spikes at every
step). :math:`x_0 = 1` at every step is the bias channel. The label depends only on
the current pattern:

.. math::

    (1,0) \mapsto 0, \quad (1,1) \mapsto 1, \quad (0,1) \mapsto 2, \quad (0,0) \mapsto 3.

Ground truth for an explanation at :math:`t^*`: the evidence is :math:`x_1` and
:math:`x_2` over the maximal run of the current pattern up to :math:`t^*` (never the
bias). A run can span several generator segments: about a quarter of all segments draw
the same pattern as the segment before, and the input cannot tell them apart, so the
evidence starts where the pattern last changed (:attr:`SyntheticData.run_start`), not at
the segment's start. Class 3 is defined by the *absence* of spikes, so its evidence is
silent input, which a method that gives zero to zero inputs cannot attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPUTS = ("bias", "x1", "x2")
CLASSES = ("(1,0)", "(1,1)", "(0,1)", "(0,0)")
#: label of each pattern (x1, x2)
LABEL = {(1, 0): 0, (1, 1): 1, (0, 1): 2, (0, 0): 3}


@dataclass
class SyntheticData:
    """A generated series.

    Attributes
    ----------
    x : ndarray, float32, ``(n_steps, 3)``
        Input spikes: bias, :math:`x_1`, :math:`x_2`.
    y : ndarray, int64, ``(n_steps,)``
        Label per step.
    segment_start : ndarray, int64, ``(n_steps,)``
        First step of the segment each step belongs to.
    seed : int
    """

    x: np.ndarray
    y: np.ndarray
    segment_start: np.ndarray
    seed: int
    inputs: tuple = INPUTS
    classes: tuple = CLASSES

    def __len__(self) -> int:
        return len(self.y)

    @property
    def run_start(self) -> np.ndarray:
        """``(n_steps,)``: first step of the maximal run of the current pattern :math:`(x_1, x_2)`
        each step belongs to (consecutive segments with the same pattern form one run)."""
        changed = np.ones(len(self), dtype=bool)
        changed[1:] = (self.x[1:, 1:] != self.x[:-1, 1:]).any(1)
        return np.maximum.accumulate(np.where(changed, np.arange(len(self)), 0))

    def ground_truth(self, t: int, window: int) -> np.ndarray:
        """Boolean mask ``(3, window)`` of the evidence for the label at step ``t``.

        True for :math:`x_1, x_2` at the steps of ``t``'s run of one pattern (:attr:`run_start`)
        inside the window ``[t - window + 1, t]``; the bias row is always False.
        """
        if not 0 <= t < len(self):
            raise ValueError(f"t={t} out of range 0..{len(self) - 1}")
        if not 1 <= window <= t + 1:
            raise ValueError(f"window={window} must be in 1..t+1={t + 1}")
        steps = np.arange(t - window + 1, t + 1)
        mask = np.zeros((3, window), dtype=bool)
        changed = (self.x[t - window + 2: t + 1, 1:] != self.x[t - window + 1: t, 1:]).any(1)
        last = np.flatnonzero(changed)
        start = t - window + 1 + (int(last[-1]) + 1 if len(last) else 0)
        mask[1:, :] = steps >= start
        return mask

    def split(self, train: float = 0.7, val: float = 0.1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Chronological split: the first ``train`` share trains, the rest tests.

        The last ``val`` share *of the training span* is held out for validation
        (early stopping), so train + val together are the original 70%.
        """
        n = len(self)
        n_train = int(n * train)
        n_val = int(n_train * val)
        cut = n_train - n_val
        return {
            "train": (self.x[:cut], self.y[:cut]),
            "val": (self.x[cut:n_train], self.y[cut:n_train]),
            "test": (self.x[n_train:], self.y[n_train:]),
        }

    def offsets(self, train: float = 0.7, val: float = 0.1) -> dict[str, int]:
        """First step of each split in the full series (to map test steps back)."""
        n_train = int(len(self) * train)
        return {"train": 0, "val": n_train - int(n_train * val), "test": n_train}


def generate(n_steps: int = 900_000, seed: int = 123, max_segment: int = 600) -> SyntheticData:
    """Generate the synthetic series (``spec/tsa.md``).

    Parameters
    ----------
    n_steps : int
        Length of the series (900,000 in the original).
    seed : int
        Seed of a private ``numpy.random.Generator`` (default 123).
    max_segment : int
        Segment lengths are uniform in ``1..max_segment-1``.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    if max_segment < 2:
        raise ValueError(f"max_segment must be at least 2, got {max_segment}")
    rng = np.random.default_rng(seed)
    # Enough segments to cover n_steps: mean length is max_segment / 2.
    n_seg = int(2.5 * n_steps / max_segment) + 16
    lengths = rng.integers(1, max_segment, size=n_seg)
    while lengths.sum() < n_steps:  # pragma: no cover - astronomically rare
        lengths = np.concatenate([lengths, rng.integers(1, max_segment, size=n_seg)])
    patterns = rng.integers(0, 2, size=(len(lengths), 2))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    keep = starts < n_steps
    lengths, patterns, starts = lengths[keep], patterns[keep], starts[keep]
    seg_of_step = np.repeat(np.arange(len(lengths)), lengths)[:n_steps]
    x = np.ones((n_steps, 3), dtype=np.float32)
    x[:, 1:] = patterns[seg_of_step]
    label_of_pattern = np.array([[3, 2], [0, 1]])  # indexed [x1, x2]
    y = label_of_pattern[patterns[seg_of_step, 0], patterns[seg_of_step, 1]].astype(np.int64)
    return SyntheticData(x=x, y=y, segment_start=starts[seg_of_step].astype(np.int64), seed=seed)
