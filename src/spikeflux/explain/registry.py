"""One registry of explanation methods: :data:`METHODS`, filled by :func:`register_method`.

Every method is a function registered by name, with the options it takes and their defaults::

    @register_method("tsa-delay", family="tsa", description="...", options={"variant": "s"})
    def tsa_delay(net, x, request, *, variant) -> Attribution: ...

:func:`~spikeflux.explain.explain` looks the name up and calls the function with the network,
the input and a validated :class:`~.request.Request` (see :mod:`.request` for what a method
receives and returns). The options a caller gives are checked in one place,
:meth:`MethodInfo.resolve`: an unknown name is refused (naming the method, the option and the
accepted ones), the rest is filled with the declared defaults, so the function always receives
every option it declared. Adding a method touches one place: its own module.
The ``lrp-<rule>`` methods are registered from the LRP rules (:data:`spikeflux.transport.rules.RULES`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

from ..registry import Registry
# What method authors import from here (their old import path; defined in .request):
from .request import CONTRASTS, Attribution, Request, contrast_name, readout_weights  # noqa: F401


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its function, family, description, ``all_classes`` support and options (name -> default)."""

    name: str
    fn: Callable[..., Attribution]
    family: str
    description: str
    supports_all_classes: bool = False
    options: dict = field(default_factory=dict)

    def resolve(self, given: dict) -> dict:
        """The declared options updated by ``given``; an unknown name is a ``ValueError`` naming the accepted ones."""
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            raise ValueError(f"{self.name}: unknown option(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(sorted(self.options)) or 'none'}")
        return {**self.options, **given}

    def signature(self) -> str:
        """The options with their defaults, as the methods listing of ``help(explain)`` shows them."""
        return ", ".join(f"{k}={v!r}" for k, v in sorted(self.options.items())) or "no options"


#: The explanation methods by name (:class:`MethodInfo`), filled by :func:`register_method`.
METHODS: Registry = Registry("explanation method")


def register_method(name: str, *, family: str, description: str, all_classes: bool = False,
                    options: dict | None = None):
    """Decorator: register ``fn`` under ``name`` in :data:`METHODS`, with its ``options`` (name -> default).

    The registered function checks and completes its options (:meth:`MethodInfo.resolve`) before
    ``fn`` runs, whether :func:`~spikeflux.explain.explain` calls it or a caller does directly.
    """

    def wrap(fn):
        @functools.wraps(fn)
        def method(net, x, request, **given):
            return fn(net, x, request, **info.resolve(given))

        info = MethodInfo(name, method, family, description, all_classes, dict(options or {}))
        METHODS.add(name, info)
        return method

    return wrap


def __getattr__(name: str):
    """The old import path of what moved to :mod:`.explanation` (``explain``, ``Explanation``, ...)."""
    if name in ("explain", "Explanation", "concat_rows", "rows_per_record", "RECORD_BYTES"):
        from . import explanation
        return getattr(explanation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
