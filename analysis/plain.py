"""Result objects as plain JSON data and back: the one translation the typed results of
analysis (summary, verdicts, design comparisons, knee steps, capacity plans) share.

A result's fields, in order, are its document's keys, in order, so a document written from
an object is the one written before the objects existed, byte for byte. Reading accepts an
older document of the same format: a missing field takes its default, and keys the class
does not know are kept in its ``extra`` field (when it has one) and written back last.

Example::

    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Row:
    ...     name: str
    ...     count: int = 0
    ...     extra: dict = field(default_factory=dict)
    >>> row = from_fields(Row, {"name": "a", "new": 1})
    >>> row, to_fields(row)
    (Row(name='a', count=0, extra={'new': 1}), {'name': 'a', 'count': 0, 'new': 1})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar

EXTRA = "extra"  # the field that keeps keys a class does not know
T = TypeVar("T")


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: result objects by their ``to_dict``, containers item by item."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def to_fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields in order as plain data, then its ``extra`` keys."""
    out = {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name != EXTRA}
    out.update(getattr(obj, EXTRA, None) or {})
    return out


def from_fields(cls: type[T], doc: Mapping[str, Any],
                read: Mapping[str, Callable[[Any], Any]] | None = None) -> T:
    """``cls`` from a document: ``read`` converts the named fields (nested results); a missing
    field without a default raises KeyError naming it."""
    read = read or {}
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in doc and f.name != EXTRA:
            values[f.name] = read[f.name](doc[f.name]) if f.name in read else doc[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f.name)
    if EXTRA in names:
        values[EXTRA] = {k: v for k, v in doc.items() if k not in names or k == EXTRA}
    return cls(**values)


class Plain:
    """Base of a result dataclass read and written by its fields alone: ``to_dict`` and
    ``from_dict`` as above. Classes with nested results or a different layout override them."""

    def to_dict(self) -> dict[str, Any]:
        return to_fields(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Self:
        return from_fields(cls, doc)
