r"""Model-agnostic baselines through Captum over the features of :mod:`.shapley`: ``shapley-sampling``,
``kernel-shap``, ``occlusion``.

All three see the network only through the value function :math:`v(C)` of
:class:`~.shapley.CoalitionGame` (the explained quantity with the features outside :math:`C`
removed, i.e. their cells set to 0, the window started from the true carried state). Captum
perturbs a feature-level input: ``z = 1`` for every feature (the input), baseline ``z = 0``
(every feature removed), one Captum feature per feature of the map, so the methods estimate the
same game that ``shapley-exact`` solves exactly:

- ``shapley-sampling``: Captum's :class:`~captum.attr.ShapleyValueSampling`, the average
  marginal contribution over ``n_samples`` random feature orders (Castro et al. 2009;
  ``n_samples (n + 1)`` evaluations per target; Captum 0.9 accumulates its sums in float32,
  so its values carry round-off of about 1e-7 relative even for a float64 network);
- ``kernel-shap``: Captum's :class:`~captum.attr.KernelShap`, a weighted linear regression on
  ``n_samples`` random coalitions (Lundberg & Lee 2017);
- ``occlusion``: Captum's :class:`~captum.attr.FeatureAblation`, :math:`v(\text{all}) - v(\text{all} \setminus \{i\})`
  (``n + 1`` evaluations).

Each cell gets its feature's value over the feature's cell count (as ``shapley-exact``);
``info["feature_values"]`` ``(K, n)`` holds the feature values and ``info["evaluations"]`` the
forward passes of the window each target cost. Randomness is seeded (option ``seed``, default
0) inside a forked RNG (the global generator is untouched): the same permutations for every row
of a batch, and each row's KernelShap sample drawn as for the row alone, so a batch row equals
the single-sequence call. Options besides the feature options of :mod:`.shapley`:
``n_samples``, ``perturbations_per_eval`` (Captum's, perturbations per forward pass), ``seed``.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from ..snn import LIFNetwork
from .registry import register_method
from .request import Attribution, Request, check_positive_int
from .gradients import _captum  # Captum imported on first use (not by ``import spikeflux.explain``)
from .shapley import FEATURE_OPTIONS, CoalitionGame, feature_map

#: Default sample counts: 25 feature orders (Captum's default), and KernelShap coalitions at about
#: the same cost for 16 features (25 x 17 = 425 evaluations).
DEFAULT_SAMPLES = {"shapley-sampling": 25, "kernel-shap": 425}

#: The options of every method here besides ``n_samples`` (:data:`DEFAULT_SAMPLES`).
OPTIONS = {**FEATURE_OPTIONS, "seed": 0, "perturbations_per_eval": None, "batch_rows": None}


def _run(method: str, net: LIFNetwork, x: Tensor, request: Request, opts: dict) -> Attribution:
    if request.all_classes:
        raise ValueError(f"{method} does not support all_classes=True")
    if method in DEFAULT_SAMPLES:
        check_positive_int("n_samples", opts["n_samples"])
    check_positive_int("perturbations_per_eval", opts["perturbations_per_eval"], allow_none=True)
    if isinstance(opts["seed"], bool) or not isinstance(opts["seed"], int):
        raise ValueError(f"seed must be an int, got {opts['seed']!r}")
    ids, n = feature_map(request, net.sizes[0], opts)
    game = CoalitionGame(net, x, request, ids, n, opts["batch_rows"])
    K = len(request.t)
    ones = torch.ones(K, n, dtype=x.dtype, device=x.device)
    rows = torch.arange(K, device=x.device)

    def forward(z: Tensor, r: Tensor) -> Tensor:
        return game.values(z, r)

    ppe = opts["perturbations_per_eval"]
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are providing multiple inputs for Lime")
        if method == "shapley-sampling":
            torch.manual_seed(opts["seed"])
            phi = _captum().ShapleyValueSampling(forward).attribute(
                ones, baselines=torch.zeros_like(ones), additional_forward_args=(rows,),
                n_samples=opts["n_samples"], perturbations_per_eval=ppe or n)
        elif method == "kernel-shap":
            phi = []
            for k in range(K):  # one regression per target, each from the same seeded sample
                torch.manual_seed(opts["seed"])
                phi.append(_captum().KernelShap(forward).attribute(
                    ones[k:k + 1], baselines=torch.zeros_like(ones[k:k + 1]), additional_forward_args=(rows[k:k + 1],),
                    n_samples=opts["n_samples"], perturbations_per_eval=ppe or opts["n_samples"]))
            phi = torch.cat(phi)
        else:
            phi = _captum().FeatureAblation(forward).attribute(ones, baselines=torch.zeros_like(ones),
                                                     additional_forward_args=(rows,), perturbations_per_eval=ppe or n)
    phi = phi.to(x.dtype).detach()
    info = {"feature_values": phi, "features": ids.expand(K, -1, -1).clone(), "n_features": n,
            "evaluations": game.evaluations // K, "seed": opts["seed"],
            "removed": "cells set to 0 (no spike), input before the window unchanged"}
    if method in DEFAULT_SAMPLES:
        info["n_samples"] = opts["n_samples"]
    return Attribution(game.cell_map(phi, request.window), info=info)


@register_method("shapley-sampling", family="perturbation",
                 description="Shapley value sampling over input features (Captum ShapleyValueSampling)",
                 options={**OPTIONS, "n_samples": DEFAULT_SAMPLES["shapley-sampling"]})
def shapley_sampling(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    """Captum's ShapleyValueSampling over the feature map (module docstring); option ``n_samples`` (25)."""
    return _run("shapley-sampling", net, x, request, options)


@register_method("kernel-shap", family="perturbation",
                 description="Kernel SHAP over input features (Captum KernelShap)",
                 options={**OPTIONS, "n_samples": DEFAULT_SAMPLES["kernel-shap"]})
def kernel_shap(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    """Captum's KernelShap over the feature map (module docstring); option ``n_samples`` (425)."""
    return _run("kernel-shap", net, x, request, options)


@register_method("occlusion", family="perturbation",
                 description="Occlusion of one input feature at a time (Captum FeatureAblation)", options=OPTIONS)
def occlusion(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    """Captum's FeatureAblation over the feature map: v(all) - v(all without i) (module docstring)."""
    return _run("occlusion", net, x, request, options)
