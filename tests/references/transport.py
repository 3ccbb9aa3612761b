"""Slow node-by-node float64 reference of ``spec/transport.md`` (tests only).

Build the unrolled graph of one recorded forward pass as a dict ``node -> [(source, z), ...]``
(§2), visit the nodes in reverse topological order, apply the rule (§3), book sinks by cause
and slice (§4). Python floats, one target at a time. Nodes are ``(kind, l, t, j)`` with kind
``"S"``, ``"I"``, ``"U"`` (and ``"B"``, the ALIF threshold, under ``threshold_path``) and layers
``l = 1..L``; the inputs are ``("S", 0, t, i)``. Besides the net per-slice arrays it books the
signed channels of §6 edge by edge (flux), input by input (absorption) and node by node (sinks),
and the mass ``Σ|R_n|`` of every slice.
"""

import copy
from collections import defaultdict

import numpy as np
import torch


def build_graph(net, x, t_star, t0, threshold_path=False):
    """In-edges ``(source, z)`` of every I/U (and B) node, and ``(U[t-1] node, U[t-1], θ[t-1], b[t-1])`` of every
    spike node (``b[t-1]`` is ``None`` unless the ALIF threshold is a path)."""
    with torch.no_grad():
        rec = net(torch.as_tensor(x, dtype=torch.float64)[None, : t_star + 1], record=True).record
    S = [s[0].numpy() for s in rec.spikes]  # S[0] = x, S[l] for l = 1..L
    I, U, th = ([None] + [v[0].numpy() for v in vs] for vs in (rec.syn, rec.mem, rec.theta))
    W = [None] + [w.detach().numpy() for w in net.weights]
    V = [None] + [v.detach().numpy() for v in net.recurrent_weights]
    prev = lambda v, t, j, init=0.0: v[t - 1, j] if t >= 1 else init  # noqa: E731  v[-1] = init
    edges, spikes = {}, {}
    for t in range(t0, t_star + 1):
        for l in range(1, net.n_layers + 1):
            spiking = net.spiking(l - 1)
            subtract = spiking and net.reset == "subtract"
            for j in range(net.sizes[l]):
                theta = prev(th[l], t, j, net.threshold)  # θ[t-1], a gate under ALIF
                path = threshold_path and spiking and net.adaptation is not None
                if spiking:
                    spikes[("S", l, t, j)] = (("U", l, t - 1, j), prev(U[l], t, j), theta,
                                              theta - net.threshold if path else None)
                if path:  # b[t] = ρ b[t-1] + γ S[t], b[t-1] = θ[t-1] - θ
                    rho, gamma = net.adaptation
                    edges[("B", l, t, j)] = [(("B", l, t - 1, j), rho * (theta - net.threshold)),
                                             (("S", l, t, j), gamma * S[l][t, j])]
                e = [(("I", l, t - 1, j), net.alpha * prev(I[l], t, j))]
                e += [(("S", l - 1, t, i), W[l][j, i] * S[l - 1][t, i]) for i in range(net.sizes[l - 1])]
                if l < len(V):
                    e += [(("S", l, t, i), V[l][j, i] * S[l][t, i]) for i in range(net.sizes[l])]
                edges[("I", l, t, j)] = e
                gate = 1.0 if (subtract or not spiking) else 1.0 - S[l][t, j]
                e = [(("U", l, t - 1, j), gate * net.beta * prev(U[l], t, j)), (("I", l, t, j), gate * I[l][t, j])]
                if subtract:
                    e.append((("S", l, t, j), -theta * S[l][t, j]))
                edges[("U", l, t, j)] = e
    return edges, spikes, rec


def node_rule(z, R, rule, eps, alpha, beta, empty_side="skip"):
    """Flux to each contribution in ``z`` and the sink ``{cause: value}`` at one node (§3, §6 for ``empty_side``)."""
    if rule == "epsilon":
        zn = sum(z)
        sign = 1.0 if zn >= 0 else -1.0
        den = zn + eps * sign
        if den == 0.0:
            return [0.0] * len(z), {"zero_denominator": R}
        return [zm / den * R for zm in z], {"stabilizer": eps * sign / den * R}
    P, N = sum(v for v in z if v > 0), sum(v for v in z if v < 0)
    if empty_side == "fallback" and (P <= 0) != (N >= 0):  # exactly one side empty: all of R through the other
        return [(max(zm, 0.0) / P if P > 0 else min(zm, 0.0) / N) * R for zm in z], {"empty_side": 0.0}
    F = [(alpha * max(zm, 0.0) / P * R if P > 0 else 0.0) - (beta * min(zm, 0.0) / N * R if N < 0 else 0.0)
         for zm in z]
    return F, {"empty_side": ((alpha if P <= 0 else 0.0) - (beta if N >= 0 else 0.0)) * R}


def reference(net, x, t_star, c, window=None, rule="epsilon", eps=0.0, alpha=2.0, beta=1.0,
              policy="pass", init="logit", readout=None, empty_side="skip", threshold_path=False):
    """Transport for one target; returns attribution ``(n_in, w)``, sinks, per-slice arrays, node relevances ``R``.

    ``readout`` (``n_out`` weights ``w``, a contrast): every output node ``j`` starts with
    ``w_j U_j[t*]`` and ``r_init`` is their sum (``init="logit"`` only). ``threshold_path``: a firing
    spike node splits its relevance by the rule over ``U[t-1]``, ``-b[t-1]`` (and, under ``excess``,
    the constant ``-θ``, booked as the ``threshold`` sink).
    """
    t0 = t_star - (window or t_star + 1) + 1
    net = copy.deepcopy(net).double()
    edges, spikes, rec = build_graph(net, x, t_star, t0, threshold_path)
    logits = rec.mem[-1][0, t_star].numpy()
    r_init = {"logit": logits[c], "one": 1.0,
              "probability": float(np.exp(logits[c] - logits.max()) / np.exp(logits - logits.max()).sum())}[init]
    R, flows = defaultdict(float), {}
    if readout is None:
        R[("U", net.n_layers, t_star, c)] = float(r_init)
    else:
        for j, w in enumerate(readout):
            if w != 0:
                R[("U", net.n_layers, t_star, j)] = float(w) * float(logits[j])
        r_init = sum(float(w) * float(logits[j]) for j, w in enumerate(readout))
    flux, sink_slices = defaultdict(float), defaultdict(lambda: defaultdict(float))
    signed = {k: defaultdict(float) for k in ("flux_pos", "flux_neg", "sink_pos", "sink_neg", "mass")}
    for t in range(t_star, t0 - 1, -1):
        for l in range(net.n_layers, 0, -1):
            for kind in "UIBS":
                for j in range(net.sizes[l]):
                    n = (kind, l, t, j)
                    if kind == "S":
                        if n not in spikes:
                            continue
                        m, u, theta, b = spikes[n]
                        if b is not None and u > theta:  # ALIF path, a firing node: a rule node over U, -b (-θ)
                            z = [u, -b] + ([-(theta - b)] if policy == "excess" else [])
                            F, sink = node_rule(z, R[n], rule, eps, alpha, beta, empty_side)
                            out = [(m, F[0]), (("B", l, t - 1, j), F[1])]
                            if policy == "excess":
                                sink = {**sink, "threshold": F[2]}
                        else:
                            share = 1.0 if policy == "pass" else ((u - theta) / u if u != 0 else 0.0)
                            out = [(m, share * R[n])]
                            sink = {"threshold": (1.0 - share) * R[n]} if policy == "excess" else {}
                    else:
                        if n not in edges:
                            continue
                        src, z = zip(*edges[n])
                        F, sink = node_rule(z, R[n], rule, eps, alpha, beta, empty_side)
                        out = list(zip(src, F))
                    signed["mass"][t] += abs(R[n])
                    for m, f in out:
                        R[m] += f
                        flows[(n, m)] = f
                        if m[2] < t:
                            flux[t] += f  # crosses from slice t to t-1
                            signed["flux_pos" if f > 0 else "flux_neg"][t] += f
                    for cause, v in sink.items():
                        sink_slices[cause][t] += v
                        signed["sink_pos" if v > 0 else "sink_neg"][t] += v
    steps = range(t0, t_star + 1)
    attribution = np.array([[R[("S", 0, t, i)] for t in steps] for i in range(net.sizes[0])])
    by_cause = {k: np.array([v[t] for t in steps]) for k, v in sink_slices.items()}
    sinks = {k: float(v.sum()) for k, v in by_cause.items()}
    sinks["boundary"] = flux[t0]
    arr = lambda d: np.array([d[t] for t in steps])  # noqa: E731
    return dict(attribution=attribution, sinks=sinks, r_init=float(r_init), flux=arr(flux),
                absorption=attribution.sum(0), sink_slices_by_cause=by_cause, R=R, flows=flows,
                flux_pos=arr(signed["flux_pos"]), flux_neg=arr(signed["flux_neg"]),
                absorbed_pos=np.clip(attribution, 0, None).sum(0), absorbed_neg=np.clip(attribution, None, 0).sum(0),
                sink_slices_pos=arr(signed["sink_pos"]), sink_slices_neg=arr(signed["sink_neg"]),
                mass=arr(signed["mass"]) + np.abs(attribution).sum(0))
