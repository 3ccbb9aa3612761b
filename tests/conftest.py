"""Shared test configuration.

Property-based tests (hypothesis) run *derandomized*: the examples are a fixed function of
each test, so CI is deterministic and a failure reproduces on every run. Set
``HYPOTHESIS_PROFILE=explore`` to draw fresh random examples locally.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
