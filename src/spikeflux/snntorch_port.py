r"""The plain model ported to snnTorch's ``Leaky`` neuron, converted back, checked and explained
(``notebooks/beyond_lif.md``); snnTorch and NIR are imported only when these are called.

- :func:`port`: a ``Linear``/``Leaky`` Sequential (subtract reset, :math:`\alpha = 0`) with the plain
  model's weights times :math:`1/(1-\alpha)`, the steady-state gain of the synaptic current it lacks;
- :func:`snntorch_run`: the last layer's membrane of such a Sequential, step by step from the zero state;
- :func:`check_port`: the module against its conversion (:func:`~spikeflux.interop.from_snntorch`) in
  float64, and the LRP-ε explanations of the conversion with their conservation residuals;
- :func:`check_nir`: the same module through snnTorch's NIR export and :func:`~spikeflux.interop.from_nir`.
"""

from __future__ import annotations

import copy
import warnings

import pandas as pd
import torch
from torch import nn

from .explain import explain
from .interop import from_snntorch, output_delay, snntorch_inputs
from .training import balanced_accuracy_ci, predict_series
from .variants import residuals


def port(plain, beta: float) -> nn.Sequential:
    """A 2-layer snnTorch Sequential of the sizes of ``plain`` (``n_in - n_hidden - n_out``) with decay ``beta``
    and the weights of ``plain`` scaled by ``1 / (1 - plain.alpha)``; float32."""
    import snntorch as snn

    n_in, n_hidden, n_out = plain.sizes
    seq = nn.Sequential(nn.Linear(n_in, n_hidden, bias=False), snn.Leaky(beta=beta, init_hidden=True),
                        nn.Linear(n_hidden, n_out, bias=False), snn.Leaky(beta=beta, init_hidden=True, output=True))
    gain = 1 / (1 - plain.alpha)  # the synaptic filter's steady-state gain, which snnTorch's Leaky lacks
    with torch.no_grad():
        seq[0].weight.copy_(gain * plain.weights[0]), seq[2].weight.copy_(gain * plain.weights[1])
    return seq


def snntorch_run(seq: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """The last layer's membrane of an snnTorch Sequential, one step at a time from the zero state, (B, T, n)."""
    import snntorch as snn

    for m in seq:
        if isinstance(m, snn.Leaky):
            m.reset_mem()
    mem = []
    with torch.no_grad():
        for t in range(x.shape[1]):
            h = x[:, t]
            for m in seq:
                # snnTorch's spikes are float32 in any dtype: cast (exactly, they are 0/1) for the next Linear
                h = m(h.to(m.weight.dtype)) if isinstance(m, nn.Linear) else m(h)
                h = h[0] if isinstance(h, tuple) else h
            mem.append(seq[-1].mem.clone())
    return torch.stack(mem, 1)


def check_port(seq: nn.Sequential, test: tuple, Xt: torch.Tensor, window: int, *, n_classes: int, seed: int = 0,
               device="cpu") -> dict:
    """Convert ``seq`` (float32: its test balanced accuracy on ``test = (x, y)``), then, in float64 (``seq`` is
    converted in place), check that the conversion reproduces the module's output membrane on the excerpts
    ``Xt`` ``(P, T, n_in)`` to 1e-12 and explain each excerpt's last step by LRP-ε over ``window`` steps.

    Returns a dict: ``summary`` (texts: delay, diff, ba, res, absorbed), ``maps`` (the ``(n_in, window)``
    maps on snnTorch's time axis), ``mem`` (the module's membranes), ``seq64``, ``conv64``, ``t_last``.
    """
    x_test, y_test = test
    converted = from_snntorch(seq).to(device)  # float32, as the module
    snn_ba = balanced_accuracy_ci(y_test, predict_series(converted, x_test).argmax(1), n_classes, seed=seed)
    seq64 = seq.double()
    conv64 = from_snntorch(seq64)
    d = output_delay(conv64)
    mem_snn = snntorch_run(seq64, Xt)
    with torch.no_grad():
        mem_sf = conv64(snntorch_inputs(conv64, Xt)).output[:, d:]
    diff = float((mem_snn - mem_sf).abs().max() / mem_snn.abs().max().clamp(min=1e-300))
    assert diff <= 1e-12, diff
    t_last = Xt.shape[1] - 1  # snnTorch's step; spikeflux explains t_last + d
    maps, rows = [], []
    for p in range(len(Xt)):
        e = explain(conv64, snntorch_inputs(conv64, Xt[p]), t_last + d, method="lrp-epsilon", window=window + d)
        assert abs(e.logit - float(mem_snn[p, t_last, e.target])) <= 1e-12 * max(1.0, abs(e.logit))
        assert float(e.attribution[:, window:].abs().max()) == 0.0  # the d padding steps get nothing
        maps.append(e.attribution[:, :window].numpy())
        rows.append(residuals(e.ledger) | dict(absorbed=float(e.ledger.absorbed / e.ledger.relevance_init)))
    res = pd.DataFrame(rows)
    assert (res[["global_vs_mass", "slice_vs_mass", "global_vs_init", "slice_vs_init"]] <= 1e-12).all().all()
    summary = dict(delay=str(d), diff=f"{diff:.1e}", ba=f"{snn_ba[0]:.3f}",
                   res=f"{res[['global_vs_mass', 'slice_vs_mass']].max().max():.1e}",
                   absorbed=f"{res['absorbed'].mean():.3f}")
    return dict(summary=summary, maps=maps, mem=mem_snn, seq64=seq64, conv64=conv64, t_last=t_last)


def check_nir(ported: dict, Xt: torch.Tensor, p0: int, window: int) -> dict:
    """:func:`check_port`'s module exported with snnTorch's ``export_to_nir`` and imported with ``from_nir``
    (snnTorch convention, its ``dt = 1e-4``): the output membrane against the module's on ``Xt`` (to 1e-5:
    :math:`\\beta` comes back from a float32 :math:`\\tau`) and the LRP-ε explanation of excerpt ``p0``.
    Returns texts: nodes, beta, diff, res."""
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    from .interop import from_nir

    seq64, conv64, mem_snn, t_last = ported["seq64"], ported["conv64"], ported["mem"], ported["t_last"]

    # snnTorch 1.0's exporter needs per-neuron beta and threshold: the same model as seq64
    def leaky(m, n, **kw):
        return snn.Leaky(beta=m.beta.detach().expand(n).clone(), threshold=m.threshold.detach().expand(n).clone(),
                         init_hidden=True, **kw)

    # and float32 (its tracer feeds Leaky's float32 spikes to the next Linear); the weights are float32 values
    n_hidden, n_out = seq64[0].out_features, seq64[2].out_features
    exportable = copy.deepcopy(nn.Sequential(seq64[0], leaky(seq64[1], n_hidden), seq64[2],
                                             leaky(seq64[3], n_out, output=True)))
    with warnings.catch_warnings():  # nirtorch 2.6 deprecates the extractor snnTorch calls
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = export_to_nir(exportable.float(), torch.zeros(seq64[0].in_features))
    imported = from_nir(graph, dt=1e-4, convention="snntorch", dtype=torch.float64)
    d_nir = output_delay(imported)
    with torch.no_grad():
        mem_nir = imported(snntorch_inputs(imported, Xt)).output[:, d_nir:]
    nir_diff = float((mem_snn - mem_nir).abs().max() / mem_snn.abs().max())
    assert nir_diff <= 1e-5, nir_diff  # beta recovered from a float32 tau: float32 round-off
    e = explain(imported, snntorch_inputs(imported, Xt[p0]), t_last + d_nir, method="lrp-epsilon",
                window=window + d_nir)
    led = residuals(e.ledger)
    return dict(nodes=" → ".join(type(graph.nodes[k]).__name__ for k in imported.metadata["nodes"]),
                beta="exactly" if imported.beta == conv64.beta else f"to within {abs(imported.beta - conv64.beta):.0e} of",
                diff=f"{nir_diff:.1e}", res=f"{max(led['global_vs_mass'], led['slice_vs_mass']):.1e}")

