"""Strict construction of frozen dataclasses from parsed YAML/JSON.

One generic builder instead of hand-written parsing per section: unknown keys are errors,
types are checked without silent coercion (``True`` is not an int, ``"5"`` is not a number),
and each failure names the full field path, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

from ddbbench.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """Bounds and choices for one field; ``what`` names the kind of value in messages."""

    what: str = "a value"
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [self.what]
        if self.gt is not None:
            parts.append(f"> {_num(self.gt)}")
        if self.ge is not None:
            parts.append(f">= {_num(self.ge)}")
        if self.le is not None:
            parts.append(f"<= {_num(self.le)}")
        if self.choices:
            parts.append("in " + ", ".join(self.choices))
        return " ".join(parts)

    def check(self, value: Any, path: str, shown: Any = None) -> None:
        """Raise if ``value`` breaks the rule; the message echoes ``shown`` (what was typed)."""
        bad = (
            (self.gt is not None and value <= self.gt)
            or (self.ge is not None and value < self.ge)
            or (self.le is not None and value > self.le)
            or (self.choices and value not in self.choices)
        )
        if bad:
            raise ConfigError(f"{path}: {value if shown is None else shown!r} is not {self.describe()}")


def rule(default: Any, **kwargs: Any) -> Any:
    """A dataclass field with a default and a validation ``Rule``."""
    return dataclasses.field(default=default, metadata={"rule": Rule(**kwargs)})


def build(cls: type, data: Any, path: str) -> Any:
    """Build dataclass ``cls`` from a mapping, validating every field under ``path``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping, got {_kind(data)} {data!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise ConfigError(f"{path}.{key}: unknown key; allowed keys: {', '.join(names)}")
    hints = get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            fpath = f"{path}.{f.name}"
            value = _coerce(hints[f.name], data[f.name], fpath)
            if "rule" in f.metadata and value is not None:
                f.metadata["rule"].check(value, fpath, shown=data[f.name])
            values[f.name] = value
    obj = cls(**values)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate(path)
    return obj


def _coerce(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _coerce(inner, value, path)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path)
    if origin is tuple:  # tuple[X, ...]: a YAML list of X
        (item, _ellipsis) = get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {_kind(value)} {value!r}")
        return tuple(_coerce(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: {value!r} is not a boolean (true or false)")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: {value!r} is not an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: {value!r} is not a number")
        if not math.isfinite(value):  # NaN passes every bound check: refuse it here
            raise ConfigError(f"{path}: {value!r} is not a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {value!r} is not a string")
        return value
    raise TypeError(f"unsupported field type {hint!r} at {path}")  # a bug, not user input


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
