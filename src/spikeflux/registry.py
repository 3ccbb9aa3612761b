"""The registry pattern of the package: entries by name, filled by decorators where they are defined.

One :class:`Registry` per kind of thing: the explanation methods, the evaluation metrics
(:data:`spikeflux.evaluation.metrics.METRICS`, by :func:`~spikeflux.evaluation.metrics.register_metric`)
(:data:`spikeflux.explain.registry.METHODS`, by :func:`~spikeflux.explain.registry.register_method`)
and the LRP rules (:data:`spikeflux.transport.rules.RULES`, by
:func:`~spikeflux.transport.rules.register_rule`). A registry is a ``dict`` (name -> entry) that
refuses a name twice and tells its followers what is added or removed: the ``lrp-<rule>``
methods follow the rules, so a rule registered later is an explanation method at once.
"""

from __future__ import annotations

from typing import Callable


class Registry(dict):
    """``name -> entry``; :meth:`add` refuses a name twice, :meth:`follow` mirrors it elsewhere."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what  # "explanation method", "LRP rule": how errors name an entry
        self._followers: list[tuple[Callable, Callable]] = []

    def add(self, name: str, entry):
        """Register ``entry`` under ``name`` and tell the followers; ``ValueError`` if ``name`` is taken."""
        if name in self:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self[name] = entry
        for added, _ in self._followers:
            added(entry)
        return entry

    def remove(self, name: str):
        """Unregister ``name`` (and what followers made of it); ``ValueError`` if it is not registered."""
        if name not in self:
            raise ValueError(f"{self.what} {name!r} is not registered; registered: {', '.join(sorted(self))}")
        entry = self.pop(name)
        for _, removed in self._followers:
            removed(entry)
        return entry

    def follow(self, added: Callable, removed: Callable) -> None:
        """Call ``added(entry)`` for every entry now and every later one, ``removed(entry)`` on removal."""
        for entry in list(self.values()):
            added(entry)
        self._followers.append((added, removed))
