r"""Memory budgets and chunks of rows: the one way the package splits a batch that would not fit.

A computation over ``n`` independent rows (sequences, targets, windows, coalitions) whose
memory grows with the rows is run on consecutive chunks of at most :func:`rows_within` rows
and the chunks' results joined (:func:`map_chunks`). Each caller keeps its own budget in
bytes (``RECORD_BYTES`` of a recorded forward pass, ``SWEEP_BYTES`` of a transport sweep,
``GRAPH_BYTES`` of an autograd graph, ``PASS_BYTES`` of a coalition pass) and says what one row
costs; rows do not interact, so a row's numbers do not depend on the chunk it falls in.
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch


def rows_within(budget: int, values_per_row: int, dtype: torch.dtype | None = None) -> int:
    """Rows of ``values_per_row`` values (of ``dtype``; ``None``: counted as they are) that fit ``budget``, at least 1.

    ``budget`` is in bytes for a ``dtype``, else in the same units as ``values_per_row``.
    """
    itemsize = 1 if dtype is None else torch.empty((), dtype=dtype).element_size()
    return max(1, int(budget) // (itemsize * int(values_per_row)))


def row_chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` (>= 1) of ``range(n)``."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    for lo in range(0, n, size):
        yield slice(lo, lo + size)


def map_chunks(fn: Callable[[slice], object], n: int, size: int, join: Callable[[list], object] = torch.cat):
    """``join([fn(rows) for rows in row_chunks(n, size)])``: ``fn`` on each chunk of rows, the results joined."""
    return join([fn(rows) for rows in row_chunks(n, size)])
