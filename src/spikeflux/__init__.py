"""spikeflux: relevance transport and temporal spike attribution for spiking neural networks.

Modules are named after the method's vocabulary:

- :mod:`spikeflux.snn`       the LIF network of ``spec/transport.md`` §1 (forward model);
- :mod:`spikeflux.training`  windowed training with carried state, early stopping;
- :mod:`spikeflux.data`      the synthetic task and the UCI ADL data set;
- :mod:`spikeflux.explain`   every explanation method behind one registry (``explain``);
- :mod:`spikeflux.interop`   models from snnTorch and NIR graphs (``from_snntorch``, ``from_nir``, ``to_nir``);
- :mod:`spikeflux.config`    where raw data, derived data and results live.
"""

__version__ = "0.1.0"
