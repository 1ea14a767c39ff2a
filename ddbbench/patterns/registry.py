"""The access patterns, by name: the pattern ``<name>`` of ``ddbbench.facts.PATTERNS`` is the
``PATTERN`` of the module ``ddbbench/patterns/<name>.py``. So the registry line in
``ddbbench.facts.PATTERN_FACTS`` is the only registration a new pattern needs."""

from __future__ import annotations

import importlib

from ddbbench.facts import PATTERNS
from ddbbench.patterns.base import Pattern


def _plugin(name: str) -> Pattern:
    try:
        module = importlib.import_module(f"ddbbench.patterns.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"ddbbench.patterns.{name}":
            raise  # the module exists and one of its own imports failed
        raise ImportError(f"pattern {name!r} of ddbbench.facts has no ddbbench/patterns/{name}.py") from None
    plugin = getattr(module, "PATTERN", None)
    if not isinstance(plugin, Pattern) or plugin.name != name:
        raise ImportError(f"ddbbench/patterns/{name}.py: PATTERN is {plugin!r}, not the {name!r} Pattern")
    return plugin


REGISTRY: dict[str, Pattern] = {name: _plugin(name) for name in PATTERNS}
