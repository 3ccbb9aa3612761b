"""Alias of :mod:`spikeflux.data.adl.fetch` (obtaining and verifying the raw UCI ADL files).

The fetch moved into the ADL package; ``spikeflux.data.uci`` is kept for old imports and
*is* that module (``sys.modules`` points both names at one object), so every name, and a
monkeypatch of any of them, works under either.
"""

import sys

from spikeflux.data.adl import fetch as _fetch

if __name__ == "__main__":  # ``python -m spikeflux.data.uci``: the ADL command line (fetch, report), not silence
    from spikeflux.data.adl.cli import main

    raise SystemExit(main())

sys.modules[__name__] = _fetch
