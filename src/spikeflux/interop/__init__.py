"""Models from other SNN libraries as :class:`~spikeflux.snn.LIFNetwork`, and back.

- :mod:`spikeflux.interop.snntorch`: :func:`from_snntorch` converts an snnTorch
  ``nn.Sequential`` of ``Linear`` and ``Leaky`` layers; :func:`run_as_snntorch`,
  :func:`snntorch_inputs` and :func:`output_delay` align spikeflux's time with snnTorch's.
- :mod:`spikeflux.interop.nir`: :func:`from_nir` imports a NIR graph (exported by snnTorch,
  Rockpool, Norse, Sinabs, ...) under a stated discretisation convention, :func:`to_nir`
  exports a spikeflux network.

Neither snnTorch nor ``nir`` is imported here: they are optional
(``pip install "spikeflux[snntorch]"`` / ``"spikeflux[nir]"``) and imported by the functions
that need them.
"""

from .nir import CONVENTIONS, from_nir, to_nir
from .snntorch import DT, TAU_SYN, from_snntorch, output_delay, run_as_snntorch, snntorch_inputs

__all__ = ["CONVENTIONS", "DT", "TAU_SYN", "from_nir", "from_snntorch", "output_delay", "run_as_snntorch",
           "snntorch_inputs", "to_nir"]
