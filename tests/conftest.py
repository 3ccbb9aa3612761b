"""Shared test configuration and fixtures.

Property-based tests (hypothesis) run *derandomized*: the examples are a fixed function of
each test, so CI is deterministic and a failure reproduces on every run. Set
``HYPOTHESIS_PROFILE=explore`` to draw fresh random examples locally.

Tests marked ``@pytest.mark.slow`` (the expensive variants) are skipped unless pytest runs
with ``--runslow``.

Fixtures shared by the explanation tests: ``spiking_net`` and ``spike_input`` are factories
(session-scoped, so ``hypothesis`` tests may take them too):

- ``spiking_net(sizes, seed, dtype=torch.float64, **options)``: a seeded
  :class:`~spikeflux.snn.LIFNetwork` whose hidden layers spike often (initial weight scale 3,
  fast membrane :math:`\\tau_{mem} = 20` ms); ``options`` go to the network;
- ``spike_input(T, n_in, seed, p=0.3, dtype=torch.float64)``: a seeded ``(T, n_in)`` 0/1
  input, each cell on with probability ``p``, channel 0 the constant bias.
"""

import os

import pytest
import torch
from hypothesis import settings

from spikeflux.snn import LIFNetwork

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (expensive variants)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def make_spiking_net(sizes, seed, dtype=torch.float64, **options) -> LIFNetwork:
    """A seeded network whose hidden layers spike often (large weights, fast membrane)."""
    return LIFNetwork(sizes, tau_mem=2e-2, weight_scale=3.0, seed=seed, **options).to(dtype)


def make_spike_input(T, n_in, seed, p=0.3, dtype=torch.float64) -> torch.Tensor:
    """A seeded ``(T, n_in)`` 0/1 input with the bias channel 0 always on."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, n_in, generator=g) < p).to(dtype)
    x[:, 0] = 1.0  # the bias channel
    return x


@pytest.fixture(scope="session")
def spiking_net():
    """The factory :func:`make_spiking_net`."""
    return make_spiking_net


@pytest.fixture(scope="session")
def spike_input():
    """The factory :func:`make_spike_input`."""
    return make_spike_input
