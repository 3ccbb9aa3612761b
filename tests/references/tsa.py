"""The TSA formulas of ``spec/tsa.md`` transcribed literally: one step, one layer at a time.

Slow on purpose: the tests (``tests/test_tsa.py``) and the benchmark
(``benchmarks/bench_explainers.py``) compare the vectorised maps of :mod:`spikeflux.explain.tsa`
against these loops.
"""

from __future__ import annotations

import torch


def tsa_loop(spikes, weights, beta, P, variant, t_star, window):
    """Straight transcription of spec/tsa.md: one step, one layer at a time, ``(n_out, n_in, window)``."""
    tc = t_star + 1
    columns = []
    for t in range(t_star - window + 1, t_star + 1):
        A = None
        for l, W in enumerate(weights):
            n_l = spikes[l].shape[-1]
            silent = 0.0 if variant == "s" else -(1.0 / n_l) * beta ** (tc - t)
            N = [beta ** (tc - t) if s != 0 else silent for s in spikes[l][t].tolist()]
            D = torch.diag(torch.tensor(N, dtype=W.dtype))
            A = D @ W.T if A is None else A @ (D @ W.T)
        columns.append(A @ torch.diag(P))
    return torch.stack(columns, -1).permute(1, 0, 2)


def tsa_delay_loop(spikes, weights, alpha, beta, P, variant, t_star, window):
    """The delay-aware variant as written in its docstring, one step and one layer at a time."""
    L, n_in, n_out = len(weights), weights[0].shape[1], weights[-1].shape[0]
    columns = []
    for t in range(t_star - window + 1, t_star + 1):
        lag = t_star - t - (L - 1)
        if lag < 0:
            columns.append(torch.zeros(n_in, n_out, dtype=weights[0].dtype))
            continue
        kappa = sum(alpha ** j * beta ** (lag - j) for j in range(lag + 1))
        A = None
        for l, W in enumerate(weights):
            silent = 0.0 if variant == "s" else -1.0 / spikes[l].shape[-1]
            D = torch.diag(torch.tensor([1.0 if v != 0 else silent for v in spikes[l][t + l].tolist()], dtype=W.dtype))
            A = D @ W.T if A is None else A @ (D @ W.T)
        columns.append(kappa * A @ torch.diag(P))
    return torch.stack(columns, -1).permute(1, 0, 2)
