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


# --- the conservation chapter's sweeps: one row per model (and setting), over K explained steps ---


def _explain(net, x, steps, **kwargs):
    from ..explain import explain  # the registry imports this package

    return explain(net, x, steps, **kwargs)


def boundary_sweep(nets, excerpts, steps, windows, **options):
    r"""LRP-ε's boundary sink :math:`|\Phi[t_0]|` as a mean share of :math:`|R_\text{init}|` for every model
    of ``nets`` (keyed ``(task, depth)``, run in float64 on ``excerpts[task]``) and every window length of
    ``windows``: a DataFrame with ``task``, ``model``, ``window``, ``boundary_share``. ``options`` go to
    :func:`~spikeflux.explain.explain` (e.g. ``contrast``)."""
    import pandas as pd

    rows = []
    for (task, depth), net in nets.items():
        n, x = net.double(), excerpts[task].double()
        for w in windows:
            e = _explain(n, x, steps, method="lrp-epsilon", window=w, **options)
            rows.append(dict(task=task, model=depth, window=w,
                             boundary_share=share(e.ledger.sinks["boundary"].abs(), e.ledger)))
    return pd.DataFrame(rows)


def epsilon_sweep(nets, excerpts, steps, window, eps_grid, **options):
    r"""LRP-ε over ``eps_grid`` (its first value the reference, usually 0) for every model: the stabilizer
    and zero-denominator sinks as mean shares of :math:`|R_\text{init}|`, the number of zero denominators
    that carried relevance, and ``change_vs_eps0``, the mean relative change
    :math:`\|A_\varepsilon - A_{\varepsilon_0}\| / \|A_{\varepsilon_0}\|` of the maps. A DataFrame, one row
    per model and ε."""
    import pandas as pd

    rows = []
    for (task, depth), net in nets.items():
        n, x = net.double(), excerpts[task].double()
        ref = None
        for eps in eps_grid:
            e = _explain(n, x, steps, method="lrp-epsilon", window=window, epsilon=eps, **options)
            A = e.attribution
            ref = A if ref is None else ref
            change = (torch.linalg.vector_norm(A - ref, dim=(1, 2)) /
                      torch.linalg.vector_norm(ref, dim=(1, 2)).clamp(min=1e-300)).mean().item()
            rows.append(dict(task=task, model=depth, epsilon=eps,
                             stabilizer_share=share(e.ledger.sinks["stabilizer"].abs(), e.ledger),
                             zero_denominator_share=share(e.ledger.sinks["zero_denominator"].abs(), e.ledger),
                             zero_denominators=int(e.ledger.zero_denominators.sum()),
                             change_vs_eps0=change))
    return pd.DataFrame(rows)


def policy_table(nets, excerpts, steps, window, **options):
    r"""LRP-ε under the threshold policies ``pass`` and ``excess`` on every model but the 1L ones (no hidden
    spike node on their relevance path under zero reset): the inputs' share of :math:`R_\text{init}` under
    each, the threshold sink of ``excess`` (net, positive, negative), and the mean Pearson correlation of
    the two maps over the explained steps. Indexed by ``(task, model)``."""
    import pandas as pd

    rows = []
    for (task, depth), net in nets.items():
        if depth == "1L":
            continue
        n, x = net.double(), excerpts[task].double()
        ep = _explain(n, x, steps, method="lrp-epsilon", window=window, threshold_policy="pass", **options)
        ex = _explain(n, x, steps, method="lrp-epsilon", window=window, threshold_policy="excess", **options)
        a, b = ep.attribution.flatten(1), ex.attribution.flatten(1)
        corr = torch.nn.functional.cosine_similarity(a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True), dim=1)
        led = ex.ledger
        rows.append(dict(task=task, model=depth,
                         absorbed_pass=share(ep.ledger.absorbed, led),
                         absorbed_excess=share(led.absorbed, led),
                         threshold_sink_excess=share(led.sinks["threshold"], led),
                         threshold_sink_pos=share(led.sinks_pos["threshold"], led),
                         threshold_sink_neg=share(led.sinks_neg["threshold"], led),
                         correlation=corr.nanmean().item()))
    if not rows:
        return pd.DataFrame(columns=["task", "model", "absorbed_pass", "absorbed_excess", "threshold_sink_excess",
                                     "threshold_sink_pos", "threshold_sink_neg", "correlation"]).set_index(["task", "model"])
    return pd.DataFrame(rows).set_index(["task", "model"])


def alphabeta_sweep(net, x, steps, windows, map_window: int = 40, **options):
    r"""LRP-αβ under both ``empty_side`` conventions against the window length: a DataFrame of
    :func:`amplification_row` per convention and window (``overflow`` True, and no numbers, where float64
    overflowed), the first explained step's map at ``map_window`` per convention, and the
    :math:`|R_\text{init}|` of that step."""
    import pandas as pd

    rows, maps, r0 = [], {}, None
    for empty_side in ("skip", "fallback"):
        for w in windows:
            try:
                e = _explain(net, x, steps, method="lrp-alphabeta", window=w, empty_side=empty_side, **options)
            except FloatingPointError:
                rows.append(dict(empty_side=empty_side, window=w, overflow=True))
                continue
            rows.append(dict(empty_side=empty_side, window=w, overflow=False, **amplification_row(e)))
            r0 = abs(float(e.ledger.relevance_init[0]))
            if w == map_window:
                maps[empty_side] = e.attribution[0].numpy()
    return pd.DataFrame(rows), maps, r0


def sink_shares(led: Ledger) -> dict:
    r"""The budget of one ledger: what the inputs absorb and each sink cause, as mean shares of
    :math:`|R_\text{init}|` (signed; they add to one up to the residual)."""
    return {"absorbed": share(led.absorbed, led)} | {k: share(v, led) for k, v in led.sinks.items()}


def precision_residuals(nets, excerpts, steps, window, methods=("lrp-0", "lrp-epsilon", "lrp-zplus"), **options):
    """:func:`residuals` of every model and rule of ``methods`` in float32 and then float64 (the networks are
    left in float64), and the float64 :func:`signed_summary` rows (threshold policy ``pass``): a DataFrame
    with ``task``, ``model``, ``precision``, ``method`` and the residuals, and a list of dicts."""
    import pandas as pd

    rows, signed_rows = [], []
    for (task, depth), net in nets.items():
        for dtype in (torch.float32, torch.float64):
            n, x = net.to(dtype), excerpts[task].to(dtype)
            for method in methods:
                led = _explain(n, x, steps, method=method, window=window, **options).ledger
                rows.append(dict(task=task, model=depth, precision=str(dtype)[6:], method=method, **residuals(led)))
                if dtype == torch.float64:
                    signed_rows.append(dict(task=task, model=depth, rule=method, policy="pass", **signed_summary(led)))
    return pd.DataFrame(rows), signed_rows


def policy_signed_rows(nets, excerpts, steps, window, model: str = "2L", **options) -> list[dict]:
    """:func:`signed_summary` rows of LRP-0, LRP-ε and z⁺ under the ``excess`` policy and of αβ with
    ``empty_side="fallback"`` under both policies, for the ``model`` of each task (float64); a float64
    overflow gives a row with infinite amplification."""
    rows = []
    for task in dict.fromkeys(t for t, _ in nets):
        n, x = nets[(task, model)].double(), excerpts[task].double()
        for method, opts in (("lrp-0", {}), ("lrp-epsilon", {}), ("lrp-zplus", {}),
                             ("lrp-alphabeta", dict(empty_side="fallback"))):
            for policy in ("pass", "excess"):
                if method != "lrp-alphabeta" and policy == "pass":
                    continue  # the rows of precision_residuals
                name = "lrp-αβ fallback" if method == "lrp-alphabeta" else method
                try:
                    led = _explain(n, x, steps, method=method, window=window, threshold_policy=policy,
                                   **opts, **options).ledger
                except FloatingPointError:
                    rows.append(dict(task=task, model=model, rule=name, policy=policy, amplification=np.inf))
                    continue
                rows.append(dict(task=task, model=model, rule=name, policy=policy, **signed_summary(led)))
    return rows


def map_peak(A: np.ndarray, scale: float) -> tuple[float, int]:
    """The largest :math:`|A|` of a map ``(n_in, w)`` relative to ``scale``, and its lag :math:`t^* - t`
    (column ``w-1`` is lag 0)."""
    A = np.abs(A)
    return A.max() / scale, int(A.shape[1] - 1 - np.unravel_index(A.argmax(), A.shape)[1])
