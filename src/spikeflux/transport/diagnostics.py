r"""Summaries of a :class:`~.ledger.Ledger` that the conservation chapters report.

- :func:`residuals`: the largest global and per-slice residuals, relative to
  :math:`|R_\text{init}|` and to the relevance moved, and the share of targets within a bound;
- :func:`signed_summary`: how much cancels (amplification, cancelled share, the two signs of
  absorption and sinks);
- :func:`plot_channels`: the signed crossing flux :math:`\Phi^\pm[t]`, the net flux and the
  slice mass against the lag.

Every per-target mean or median is over the targets with :math:`R_\text{init} \ne 0` (a target
with nothing to explain moves nothing).
"""

from __future__ import annotations

import numpy as np
import torch

from .ledger import Ledger

TINY = 1e-30


def _live(led: Ledger) -> torch.Tensor:
    return led.relevance_init.reshape(-1) != 0


def share(v: torch.Tensor, led: Ledger) -> float:
    """Mean of ``v / |R_init|`` over the targets with a non-zero :math:`R_\\text{init}` (nan if none)."""
    r, live = led.relevance_init.abs().reshape(-1), _live(led)
    v = torch.as_tensor(v).reshape(-1)
    return float((v[live] / r[live]).mean()) if bool(live.any()) else float("nan")


def residuals(led: Ledger, bound: float = 1e-5) -> dict:
    r"""Largest residuals of one ledger ``(K, ...)``.

    ``global_init``, ``slice_init``: of the global identity and of the continuity equation,
    relative to :math:`|R_\text{init}|`; ``global_mass``: the global one relative to the relevance
    moved :math:`\sum_n |R_n|`; ``slice_mass``: slice :math:`t` relative to :math:`M[t] + M[t+1]`
    (:math:`M[t^*+1] := |R_\text{init}|`), the mass of the two slices its equation connects;
    ``within``: the share of targets whose global and every per-slice residual is within
    ``bound`` of :math:`|R_\text{init}|`.
    """
    scale = led.relevance_init.abs().reshape(-1, 1).clamp(min=TINY)
    K = scale.shape[0]
    glob, cont = led.global_residual.abs().reshape(K), led.continuity_residual.abs().reshape(K, -1)
    mass = led.mass.reshape(K, -1)
    slice_mass = (mass + torch.cat([mass[:, 1:], scale], 1)).clamp(min=TINY)
    g_init, s_init = glob / scale[:, 0], cont.amax(1) / scale[:, 0]
    return dict(global_init=float(g_init.max()), slice_init=float(s_init.max()),
                global_mass=float((glob / led.relevance_mass.reshape(K).clamp(min=TINY)).max()),
                slice_mass=float((cont / slice_mass).max()),
                within=float(((g_init <= bound) & (s_init <= bound)).double().mean()))


def signed_summary(led: Ledger) -> dict:
    r"""Cancellation of one ledger: median amplification :math:`\sum_t M[t] / |R_\text{init}|` and cancelled
    share of the crossing flux (:attr:`~.ledger.Ledger.cancelled`); absorption and sinks (boundary
    included) of either sign as mean shares of :math:`|R_\text{init}|`."""
    live = _live(led)
    return dict(amplification=float(led.amplification.reshape(-1)[live].median()),
                cancelled=float(led.cancelled.reshape(-1)[live].median()),
                absorbed_pos=share(led.absorbed_pos.sum(-1), led), absorbed_neg=share(led.absorbed_neg.sum(-1), led),
                sinks_pos=share(sum(led.sinks_pos.values()), led), sinks_neg=share(sum(led.sinks_neg.values()), led))


def lag_profile(v: torch.Tensor, led: Ledger) -> np.ndarray:
    """Mean over live targets of a per-slice ``(K, w)`` quantity relative to :math:`|R_\\text{init}|`, lag 1 first
    (:meth:`~spikeflux.transport.ledger.Ledger.reach_profile` of ``v``)."""
    return led.reach_profile(v)


def plot_channels(ax, led: Ledger, floor: float = 1e-300):
    r"""Draw :math:`\Phi^+[t]`, :math:`-\Phi^-[t]`, :math:`|\Phi[t]|` and :math:`M[t]` (relative to
    :math:`|R_\text{init}|`, mean over targets) against the lag on log-log axes."""
    lag = np.arange(1, led.flux.shape[-1] + 1)
    for v, label, style in ((led.flux_pos, "Φ⁺[t]", "-"), (-led.flux_neg, "−Φ⁻[t]", "-"),
                            (led.flux.abs(), "|Φ[t]| (net)", "k--"), (led.mass, "M[t] (mass)", ":")):
        ax.loglog(lag, np.maximum(lag_profile(v, led), floor), style, label=label, lw=1)
    ax.set_xlabel("lag t* - t")
    return ax


def amplification_row(e) -> dict:
    r"""One explanation's growth: median amplification, the largest map entry relative to the smallest
    non-zero :math:`|R_\text{init}|`, the ``empty_side`` sink share and the worst global residual relative
    to :math:`|R_\text{init}|` and to the relevance moved (``e``: an :class:`~spikeflux.explain.Explanation`)."""
    led, live = e.ledger, _live(e.ledger)
    r = led.relevance_init.abs().reshape(-1)
    return dict(amplification=float(led.amplification.reshape(-1)[live].median()),
                max_map=float(e.attribution.abs().reshape(r.shape[0], -1).amax(1).max() / r[live].min()),
                empty_side_sink=share(led.sinks["empty_side"], led),
                max_global_rel_init=float((led.global_residual.abs().reshape(-1) / r.clamp(min=TINY)).max()),
                max_global_rel_mass=float((led.global_residual.abs() / led.relevance_mass.clamp(min=TINY)).max()))
