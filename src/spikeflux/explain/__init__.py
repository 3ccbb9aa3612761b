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

from .registry import METHODS, register_method
from .request import Attribution, Request
from .explanation import Explanation, explain

# The method modules register their methods in METHODS as the package is imported.
from . import lrp, tsa, gradients, deeplift, shapley, agnostic  # noqa: F401

# ``Attribution`` (what a method function returns) stays importable for method authors; users get ``Explanation``.
__all__ = ["METHODS", "Explanation", "Request", "explain", "register_method"]


def _methods_help() -> str:
    """The registered methods for ``help(explain)``: name, family, description and declared options."""
    lines = ["", "", "    Methods", "    -------",
             "    Every name in :data:`METHODS`, with its options and their defaults (more: ``help(METHODS[name].fn)``):", ""]
    for name in sorted(METHODS):
        m = METHODS[name]
        lines.append(f"    ``{name}`` ({m.family}; ``{m.fn.__module__}.{m.fn.__name__}``)")
        lines.append(f"        {m.description}")
        lines.append(f"        Options: {m.signature()}")
    return "\n".join(lines) + "\n"


explain.__doc__ = (explain.__doc__ or "").rstrip() + _methods_help()
