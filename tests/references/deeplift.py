"""Slow node-by-node float64 reference of DeepLIFT as difference transport (``spec/transport.md`` §6; tests only).

Written straight from the spec, independently of :mod:`spikeflux.transport.difference`: run the
input and the reference input from step 0, take every node's difference ``Δz = z - z̄`` from the
two runs (not from a Δ-recursion), write each I/U node's Δ-contributions as a dict
``node -> [(source, Δz_m), ...]`` with the Shapley split of the hard-reset product, visit the
nodes in reverse topological order with ``F = Δz_m / Σ Δz · R_n`` (zero-denominator sink when
the sum is 0), pass spike nodes with share ``ΔU/(ΔU - Δθ)`` (threshold sink for the rest, all of
it where the denominator is 0), and book by slice. Python floats, one target at a time.
Nodes are ``(kind, l, t, j)`` as in :mod:`tests.references.transport`.
"""

import copy
from collections import defaultdict

import numpy as np
import torch


def _run(net, x):
    with torch.no_grad():
        rec = net(torch.as_tensor(x, dtype=torch.float64)[None], record=True).record
    S = [s[0].numpy() for s in rec.spikes]
    I, U, th = ([None] + [v[0].numpy() for v in vs] for vs in (rec.syn, rec.mem, rec.theta))
    return S, I, U, th


def reference(net, x, t_star, weights, window, x_ref_window=None, bias_channel=0):
    """DeepLIFT of ``Σ_j w_j (U_j[t*] - Ū_j[t*])`` for one target; the reference replaces the window only.

    ``x`` ``(T, n_in)``; ``weights`` ``(n_out,)``; ``x_ref_window`` ``(window, n_in)`` or ``None``
    (no spikes except ``bias_channel``, kept). Returns attribution ``(n_in, w)``, sinks by cause,
    per-slice flux and absorption, ``r_init``, ``delta_f`` (from the two runs' outputs) and ``R``.
    """
    net = copy.deepcopy(net).double()
    x = np.asarray(x, dtype=np.float64)[: t_star + 1]
    t0 = t_star - window + 1
    xr = x.copy()
    if x_ref_window is None:
        xr[t0:] = 0.0
        if bias_channel is not None:
            xr[t0:, bias_channel] = x[t0:, bias_channel]
    else:
        xr[t0:] = np.asarray(x_ref_window, dtype=np.float64)
    a, r = _run(net, x), _run(net, xr)
    (S, I, U, th), (Sr, Ir, Ur, thr) = a, r
    W = [None] + [w.detach().numpy() for w in net.weights]
    V = [None] + [v.detach().numpy() for v in net.recurrent_weights]
    prev = lambda v, t, j, init=0.0: v[t - 1, j] if t >= 1 else init  # noqa: E731
    alpha, beta = net.alpha, net.beta
    edges, spikes, extra_sink = {}, {}, {}
    for t in range(t0, t_star + 1):
        for l in range(1, net.n_layers + 1):
            spiking = net.spiking(l - 1)
            zero = spiking and net.reset == "zero"
            subtract = spiking and net.reset == "subtract"
            for j in range(net.sizes[l]):
                dU_prev = prev(U[l], t, j) - prev(Ur[l], t, j)
                dth = prev(th[l], t, j, net.threshold) - prev(thr[l], t, j, net.threshold)
                dS = S[l][t, j] - Sr[l][t, j]
                if spiking:
                    spikes[("S", l, t, j)] = (("U", l, t - 1, j), dU_prev, dth)
                e = [(("I", l, t - 1, j), alpha * (prev(I[l], t, j) - prev(Ir[l], t, j)))]
                e += [(("S", l - 1, t, i), W[l][j, i] * (S[l - 1][t, i] - Sr[l - 1][t, i]))
                      for i in range(net.sizes[l - 1])]
                if l < len(V):
                    e += [(("S", l, t, i), V[l][j, i] * (S[l][t, i] - Sr[l][t, i])) for i in range(net.sizes[l])]
                edges[("I", l, t, j)] = e
                dI = I[l][t, j] - Ir[l][t, j]
                if zero:  # U = g b, g = 1 - S, b = βU[t-1] + I: Shapley split of Δ(g b)
                    g, gr = 1.0 - S[l][t, j], 1.0 - Sr[l][t, j]
                    b = beta * prev(U[l], t, j) + I[l][t, j]
                    br = beta * prev(Ur[l], t, j) + Ir[l][t, j]
                    e = [(("U", l, t - 1, j), (g + gr) / 2 * beta * dU_prev), (("I", l, t, j), (g + gr) / 2 * dI),
                         (("S", l, t, j), (b + br) / 2 * (-dS))]
                else:
                    e = [(("U", l, t - 1, j), beta * dU_prev), (("I", l, t, j), dI)]
                    if subtract:  # -θ[t-1] S[t]: Shapley split of the product, Δθ's share a threshold sink
                        theta, theta_r = prev(th[l], t, j, net.threshold), prev(thr[l], t, j, net.threshold)
                        e.append((("S", l, t, j), -(theta + theta_r) / 2 * dS))
                        if net.adaptation is not None:
                            e.append((("sink", "threshold"), -(S[l][t, j] + Sr[l][t, j]) / 2 * dth))
                edges[("U", l, t, j)] = e
    n_out = net.sizes[-1]
    L = net.n_layers
    delta_out = [U[L][t_star, c] - Ur[L][t_star, c] for c in range(n_out)]
    R, flows = defaultdict(float), {}
    for c in range(n_out):
        R[("U", L, t_star, c)] = float(weights[c]) * delta_out[c]
    r_init = sum(R[("U", L, t_star, c)] for c in range(n_out))
    flux, sink_slices = defaultdict(float), defaultdict(lambda: defaultdict(float))
    for t in range(t_star, t0 - 1, -1):
        for l in range(L, 0, -1):
            for kind in "UIS":
                for j in range(net.sizes[l]):
                    n = (kind, l, t, j)
                    if kind == "S":
                        if n not in spikes:
                            continue
                        m, dU, dth = spikes[n]
                        dv = dU - dth
                        share = dU / dv if dv != 0 else 0.0
                        out = [(m, share * R[n])]
                        sink_slices["threshold"][t] += R[n] - share * R[n]
                    else:
                        total = sum(z for _, z in edges[n])
                        if total == 0.0:
                            sink_slices["zero_denominator"][t] += R[n]
                            out = []
                        else:
                            out = [(m, z / total * R[n]) for m, z in edges[n]]
                    for m, f in out:
                        if m[0] == "sink":
                            sink_slices[m[1]][t] += f
                            continue
                        R[m] += f
                        flows[(n, m)] = f
                        if m[2] < t:
                            flux[t] += f
    steps = range(t0, t_star + 1)
    attribution = np.array([[R[("S", 0, t, i)] for t in steps] for i in range(net.sizes[0])])
    by_cause = {k: np.array([v[t] for t in steps]) for k, v in sink_slices.items()}
    sinks = {k: float(v.sum()) for k, v in by_cause.items()}
    sinks["boundary"] = flux[t0]
    delta_f = float(sum(float(weights[c]) * delta_out[c] for c in range(n_out)))
    return dict(attribution=attribution, sinks=sinks, r_init=float(r_init), delta_f=delta_f,
                flux=np.array([flux[t] for t in steps]), absorption=attribution.sum(0),
                sink_slices_by_cause=by_cause, R=R, flows=flows)
