"""``python -m spikeflux.data.adl``: the command line of :mod:`spikeflux.data.adl.cli`."""

from .cli import main

raise SystemExit(main())
