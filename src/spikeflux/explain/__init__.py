"""Explanation methods behind one interface: ``explain(net, x, t, method=name)``.

Importing this package registers every method in :data:`METHODS`:

- transport LRP (:mod:`spikeflux.explain.lrp`): ``lrp-0``, ``lrp-epsilon``, ``lrp-zplus``, ``lrp-alphabeta``;
- Temporal Spike Attribution (:mod:`spikeflux.explain.tsa`): ``tsa-s``, ``tsa-ns``, ``sam``, and
  ``tsa-delay`` (ours: TSA following the model's timing, not the published method);
- gradient baselines through Captum (:mod:`spikeflux.explain.gradients`): ``integrated-gradients``,
  ``saliency``, ``input-x-gradient``;
- DeepLIFT as difference transport (:mod:`spikeflux.explain.deeplift`): ``deeplift``;
- exact Shapley values of input features (:mod:`spikeflux.explain.shapley`): ``shapley-exact``;
- model-agnostic baselines through Captum (:mod:`spikeflux.explain.agnostic`): ``shapley-sampling``,
  ``kernel-shap``, ``occlusion``.
"""

from .registry import METHODS, Attribution, Explanation, Request, explain, register_method

# Method modules register themselves on import.
from . import lrp, tsa, gradients, deeplift  # noqa: E402,F401

__all__ = ["METHODS", "Attribution", "Explanation", "Request", "explain", "register_method"]
