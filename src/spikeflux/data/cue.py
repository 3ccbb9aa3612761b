r"""The delayed-cue task: the evidence for a label lies in the past, at a known place.

A long series of *trials*, regenerated from a seed. Channels (``n_in = 1 + K + D``):

- channel 0, the bias, spikes at every step;
- channels ``1..K`` are the *cue* channels, ``K + 1..K + D`` the *distractor* channels;
  every one of them carries background spikes, Bernoulli with rate ``p_background`` per step.

Trial :math:`k` starts with a *cue*: a burst of ``burst`` consecutive spikes on cue
channel :math:`1 + c_k`, :math:`c_k` uniform on ``0..K-1``, from its onset
:math:`t^c_k`. The label of every step from the onset up to the next onset is
:math:`c_k` (the channel of the most recent cue):

.. math::

    y[t] = c_k, \qquad d[t] = t - t^c_k \quad (t^c_k \le t < t^c_{k+1}),

and a step is *explained* (loss weight 1, eligible as :math:`t^*`) when its delay
:math:`d[t] \in [d_{min}, d_{max}]`; the other steps (the cue itself and the first
:math:`d_{min}` steps after it, and the rest between trials) have weight 0. The next onset
is :math:`t^c_{k+1} = t^c_k + d_{max} + 1 + r_k` with a rest :math:`r_k` uniform on
``rest``, so at an explained step the previous cue lies at least
:math:`d_{max} + 1 + r_{min}` steps further back than the deciding one.

*Distractors* are bursts of the same shape on the distractor channels: per trial a
Poisson number (mean ``distractors_per_trial``) at uniform onsets inside the trial, each on
a uniform distractor channel. They never decide the label; they often lie between the cue
and :math:`t^*`, nearer to it than the cue.

Ground truth for the explanation at an explained step :math:`t^*`: the cells of the
deciding cue, channel :math:`1 + y[t^*]` at steps :math:`t^c .. t^c + \text{burst} - 1`
(never the bias, the background or a distractor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: default layout: three cue channels, two distractor channels
N_CUES, N_DISTRACTORS = 3, 2


def input_names(n_cues: int = N_CUES, n_distractors: int = N_DISTRACTORS) -> tuple[str, ...]:
    """``("bias", "cue 0", ..., "distractor 0", ...)``."""
    return ("bias", *(f"cue {k}" for k in range(n_cues)), *(f"distractor {k}" for k in range(n_distractors)))


@dataclass
class CueData:
    """A generated delayed-cue series.

    Attributes
    ----------
    x : ndarray, float32, ``(T, 1 + K + D)``
        Input spikes: bias, cue channels, distractor channels.
    y : ndarray, int64, ``(T,)``
        Label per step: the channel index ``0..K-1`` of the most recent cue (0 before the first).
    weight : ndarray, float32, ``(T,)``
        1 at explained steps (delay in ``[d_min, d_max]``), else 0.
    onset : ndarray, int64, ``(T,)``
        Onset of the most recent cue (-1 before the first).
    cue_onsets, cue_channels : ndarray, int64, ``(n_trials,)``
        The trials (channel index ``0..K-1``).
    distractor_onsets, distractor_channels : ndarray, int64
        The distractor bursts (channel index ``0..D-1``).
    """

    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    onset: np.ndarray
    cue_onsets: np.ndarray
    cue_channels: np.ndarray
    distractor_onsets: np.ndarray
    distractor_channels: np.ndarray
    n_cues: int
    n_distractors: int
    burst: int
    delay_range: tuple[int, int]
    seed: int

    def __len__(self) -> int:
        return len(self.y)

    @property
    def inputs(self) -> tuple[str, ...]:
        return input_names(self.n_cues, self.n_distractors)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(f"cue {k}" for k in range(self.n_cues))

    @property
    def delay(self) -> np.ndarray:
        """:math:`d[t] = t - t^c` (-1 before the first cue), ``(T,)``."""
        return np.where(self.onset >= 0, np.arange(len(self)) - self.onset, -1)

    def ground_truth(self, t: int, window: int) -> np.ndarray:
        """Boolean mask ``(n_in, window)`` of the evidence for the label at step ``t``.

        True on the deciding cue's channel at the burst's steps inside the window
        ``[t - window + 1, t]``; all False before the first cue.
        """
        if not 0 <= t < len(self):
            raise ValueError(f"t={t} out of range 0..{len(self) - 1}")
        if not 1 <= window <= t + 1:
            raise ValueError(f"window={window} must be in 1..t+1={t + 1}")
        mask = np.zeros((self.x.shape[1], window), dtype=bool)
        if self.onset[t] < 0:
            return mask
        steps = np.arange(t - window + 1, t + 1)
        on = self.onset[t]
        mask[1 + self.y[t]] = (steps >= on) & (steps < on + self.burst)
        return mask

    def split(self, train: float = 0.7, val: float = 0.1) -> dict[str, tuple]:
        """Chronological split as :meth:`spikeflux.data.synthetic.SyntheticData.split`, with weights.

        ``{"train", "val", "test"} -> (x, y, w)``: the per-step loss weights ``w`` (1 at
        explained steps) go to :func:`spikeflux.training.train` as they are.
        """
        o = self.offsets(train, val)
        bounds = {"train": (0, o["val"]), "val": (o["val"], o["test"]), "test": (o["test"], len(self))}
        return {k: (self.x[a:b], self.y[a:b], self.weight[a:b]) for k, (a, b) in bounds.items()}

    def offsets(self, train: float = 0.7, val: float = 0.1) -> dict[str, int]:
        """First step of each split in the full series."""
        n_train = int(len(self) * train)
        return {"train": 0, "val": n_train - int(n_train * val), "test": n_train}

    def selection_labels(self, a: int = 0, b: int | None = None) -> np.ndarray:
        """Labels of steps ``a..b-1`` with every non-explained step set to ``n_cues``.

        For :func:`spikeflux.evaluation.make_points`, which stratifies by label: the points it
        draws of class ``n_cues`` are not explained steps and are dropped (:func:`explained_points`).
        """
        y = self.y[a:b].copy()
        y[self.weight[a:b] == 0] = self.n_cues
        return y


def generate(n_steps: int = 300_000, seed: int = 7, *, n_cues: int = N_CUES, n_distractors: int = N_DISTRACTORS,
             burst: int = 8, delay: tuple[int, int] = (20, 200), rest: tuple[int, int] = (50, 150),
             p_background: float = 0.01, distractors_per_trial: float = 2.0) -> CueData:
    """Generate the delayed-cue series (module docstring).

    Parameters
    ----------
    n_steps : int
        Length of the series.
    seed : int
        Seed of a private ``numpy.random.Generator``.
    n_cues, n_distractors : int
        :math:`K` cue channels (= classes, at least 2) and :math:`D` distractor channels.
    burst : int
        Steps of a cue or distractor burst (a spike at every one).
    delay : (d_min, d_max)
        Delays of the explained steps, inclusive; ``d_min >= burst`` (a point never lies in its own cue).
    rest : (r_min, r_max)
        Extra steps between trials, inclusive.
    p_background : float
        Background spike probability per step on every non-bias channel.
    distractors_per_trial : float
        Mean number of distractor bursts per trial (Poisson).
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    if n_cues < 2 or n_distractors < 0:
        raise ValueError(f"need n_cues >= 2 and n_distractors >= 0, got {n_cues}, {n_distractors}")
    if burst < 1:
        raise ValueError(f"burst must be at least 1 step, got {burst}")
    d_min, d_max = (int(d) for d in delay)
    if not burst <= d_min <= d_max:
        raise ValueError(f"delay=(d_min, d_max) must satisfy burst={burst} <= d_min <= d_max, got {delay}")
    r_min, r_max = (int(r) for r in rest)
    if not 0 <= r_min <= r_max:
        raise ValueError(f"rest=(r_min, r_max) must satisfy 0 <= r_min <= r_max, got {rest}")
    if not 0 <= p_background < 1:
        raise ValueError(f"p_background must be in [0, 1), got {p_background}")
    if distractors_per_trial < 0 or (distractors_per_trial > 0 and n_distractors == 0):
        raise ValueError(f"distractors_per_trial={distractors_per_trial} needs n_distractors > 0 and must be >= 0")
    rng = np.random.default_rng(seed)
    n_in = 1 + n_cues + n_distractors
    # trials: first onset inside the first rest, then d_max + 1 + r_k apart
    n_trials = n_steps // (d_max + 1 + r_min) + 2
    gaps = d_max + 1 + rng.integers(r_min, r_max + 1, size=n_trials)
    onsets = int(rng.integers(0, r_max + 1)) + np.concatenate([[0], np.cumsum(gaps)[:-1]])
    onsets = onsets[onsets < n_steps]
    channels = rng.integers(0, n_cues, size=len(onsets))
    # background on every non-bias channel, bias always on
    x = (rng.random((n_steps, n_in)) < p_background).astype(np.float32)
    x[:, 0] = 1.0
    # distractors: Poisson count per trial, uniform onsets inside the trial's span
    ends = np.append(onsets[1:], n_steps)
    counts = rng.poisson(distractors_per_trial, size=len(onsets)) if n_distractors else np.zeros(len(onsets), int)
    d_on = np.concatenate([rng.integers(a + burst, max(a + burst + 1, b - burst), size=n)
                           for a, b, n in zip(onsets, ends, counts)]) if counts.sum() else np.zeros(0, int)
    d_on = d_on.astype(np.int64)
    d_ch = rng.integers(0, max(n_distractors, 1), size=len(d_on))
    keep = d_on + burst <= n_steps
    d_on, d_ch = d_on[keep], d_ch[keep]
    for ons, rows in ((onsets, 1 + channels), (d_on, 1 + n_cues + d_ch)):
        steps = (ons[:, None] + np.arange(burst)[None, :]).ravel()
        cols = np.repeat(rows, burst)
        ok = steps < n_steps
        x[steps[ok], cols[ok]] = 1.0
    # labels: the most recent onset of every step
    trial = np.searchsorted(onsets, np.arange(n_steps), side="right") - 1
    onset = np.where(trial >= 0, onsets[np.maximum(trial, 0)], -1).astype(np.int64)
    y = np.where(trial >= 0, channels[np.maximum(trial, 0)], 0).astype(np.int64)
    d = np.arange(n_steps) - onset
    weight = ((onset >= 0) & (d >= d_min) & (d <= d_max)).astype(np.float32)
    return CueData(x=x, y=y, weight=weight, onset=onset, cue_onsets=onsets.astype(np.int64),
                   cue_channels=channels.astype(np.int64), distractor_onsets=d_on, distractor_channels=d_ch.astype(np.int64),
                   n_cues=n_cues, n_distractors=n_distractors, burst=burst, delay_range=(d_min, d_max), seed=seed)


def explained_points(points, n_cues: int):
    """Drop the points of the selection class ``n_cues`` (:meth:`CueData.selection_labels`).

    ``points`` is a :class:`spikeflux.evaluation.PointSet`; returns the subset of explained
    steps (with their masks).
    """
    return points.subset(np.flatnonzero(points.y != n_cues))


def delay_bins(delay_range: tuple[int, int], n_bins: int) -> dict[str, tuple[int, int]]:
    """``n_bins`` equal bins of the delays ``delay_range = (d_min, d_max)`` (both included), as
    ``{"a-(b-1)": (a, b)}`` with the half-open ranges ``[a, b)``; the edges are
    ``linspace(d_min, d_max + 1, n_bins + 1)`` rounded to whole steps.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    d_min, d_max = delay_range
    edges = np.linspace(d_min, d_max + 1, n_bins + 1).round().astype(int)
    return {f"{a}-{b - 1}": (int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])}
