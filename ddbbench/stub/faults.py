"""The stub's fault rules and runtime settings: validated once, applied per request.

Settings arrive as JSON-like values (from the control API, the Python handle or the command
line); anything invalid raises :class:`ddbbench.errors.ConfigError` naming the bad value and
what is allowed, before anything changes.

Example::

    changes = parse_changes({"delay_ms": 5, "errors": [{"code": "ThrottlingException", "rate": 0.1}]})
    settings = changes.applied_to(Settings())   # delay_s=0.005, one rule firing 10% of the time
    parse_changes({"delay_ms": -1})  # ConfigError: delay_ms: -1 is not a number of milliseconds >= 0
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ddbbench.errors import ConfigError

ERROR_TYPE_PREFIX = "com.amazonaws.dynamodb.v20120810#"
SETTINGS = ("delay_ms", "errors", "stall_s", "seed")
RULE_KEYS = ("code", "status", "rate", "operations", "message")
_SERVER_SIDE_CODES = frozenset({"InternalServerError", "ServiceUnavailable"})

# Messages DynamoDB itself sends for these codes (clients sometimes log or match on them).
_MESSAGES = {
    "ProvisionedThroughputExceededException":
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    "ThrottlingException": "Rate of requests exceeds the allowed throughput.",
    "ConditionalCheckFailedException": "The conditional request failed",
    "ValidationException": "One or more parameter values were invalid",
    "InternalServerError": "Internal server error",
}


@dataclass(frozen=True)
class ErrorRule:
    """One injected error: answer ``code`` with HTTP ``status`` to a share ``rate`` of requests."""

    code: str
    status: int
    rate: float
    operations: frozenset[str] | None  # None: every operation
    body: bytes  # pre-encoded: the error body never changes

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "status": self.status, "rate": self.rate}
        if self.operations is not None:
            out["operations"] = sorted(self.operations)
        return out


@dataclass(frozen=True)
class Settings:
    """What every request sees; replaced whole, so a request never mixes old and new."""

    delay_s: float = 0.0
    errors: tuple[ErrorRule, ...] = ()
    seed: int = 0

    def describe(self) -> dict[str, Any]:
        return {"delay_ms": self.delay_s * 1000.0, "errors": [e.describe() for e in self.errors],
                "seed": self.seed}


@dataclass(frozen=True)
class Changes:
    """A validated control request; None keeps the current value."""

    delay_s: float | None = None
    errors: tuple[ErrorRule, ...] | None = None
    seed: int | None = None
    stall_s: float | None = None  # 0 cancels a stall in progress

    @property
    def reseeds(self) -> bool:
        # Reseed on every change of rules so the same configure sequence gives the same error
        # sequence (for sequential clients).
        return self.errors is not None or self.seed is not None

    def applied_to(self, current: Settings) -> Settings:
        return Settings(current.delay_s if self.delay_s is None else self.delay_s,
                        current.errors if self.errors is None else self.errors,
                        current.seed if self.seed is None else self.seed)


def pick_rule(rules: Sequence[ErrorRule], op: str, rng: random.Random) -> ErrorRule | None:
    """The first rule that fires for ``op`` (each applicable rule draws in turn), or None."""
    for rule in rules:
        applies = rule.operations is None or op in rule.operations
        if applies and (rule.rate >= 1.0 or rng.random() < rule.rate):
            return rule
    return None


# --- validation ---------------------------------------------------------------------------------

def parse_changes(changes: Mapping[str, Any]) -> Changes:
    """Validate a control request ``{"delay_ms", "errors", "stall_s", "seed"}`` (all optional)."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"unknown stub setting(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(SETTINGS)}")
    return Changes(
        delay_s=check_delay_ms(changes["delay_ms"]) / 1000.0 if "delay_ms" in changes else None,
        errors=parse_rules(changes["errors"]) if "errors" in changes else None,
        seed=check_seed(changes["seed"]) if "seed" in changes else None,
        stall_s=_number(changes["stall_s"], "stall_s", "a number of seconds >= 0 (0 cancels)")
        if "stall_s" in changes else None)


def check_delay_ms(value: object, where: str = "delay_ms") -> float:
    return _number(value, where, "a number of milliseconds >= 0")


def check_seed(value: object, where: str = "seed") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {value!r} is not an integer")
    return value


def check_port(value: object, where: str = "port") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(f"{where}: {value!r} is not a port number in [0, 65535] (0: a free one)")
    return value


def parse_rules(rules: object, where: str = "errors") -> tuple[ErrorRule, ...]:
    """Validate a list of fault rules, as JSON would carry them (lists, not tuples)."""
    if not isinstance(rules, list):
        raise ConfigError(f"{where}: {rules!r} is not a list of rules like "
                          '[{"code": "ThrottlingException", "rate": 0.1}]')
    return tuple(_rule(spec, f"{where}[{i}]") for i, spec in enumerate(rules))


def json_rules(rules: Sequence[Mapping[str, Any]], where: str = "errors") -> list[dict[str, Any]]:
    """Rules given from Python, as the control API will receive them (validated)."""
    try:
        as_json = json.loads(json.dumps([dict(r) for r in rules]))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {rules!r} cannot be sent as JSON ({exc})") from None
    parse_rules(as_json, where)
    return list(as_json)


def _rule(spec: object, where: str) -> ErrorRule:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {spec!r} is not a rule like {{\"code\": \"ThrottlingException\"}}")
    unknown = sorted(set(spec) - set(RULE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(RULE_KEYS)}")
    code = spec.get("code")
    if not isinstance(code, str) or not code:
        raise ConfigError(f"{where}.code: {code!r} is not an error code (a non-empty string such as "
                          "'ThrottlingException')")
    # Server-side codes default to 500, everything else is a client error like DynamoDB's.
    status = spec.get("status", 500 if code in _SERVER_SIDE_CODES else 400)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ConfigError(f"{where}.status: {status!r} is not an HTTP error status in [400, 599]")
    rate = _number(spec["rate"], f"{where}.rate", "a rate in [0, 1]", high=1.0) if "rate" in spec else 1.0
    ops = spec.get("operations")
    if ops is not None and (not isinstance(ops, list) or not all(isinstance(o, str) for o in ops)):
        raise ConfigError(f"{where}.operations: {ops!r} is not a list of operation names "
                          "such as ['GetItem', 'Query']")
    message = spec.get("message", _MESSAGES.get(code, "Injected by the ddbbench stub"))
    body = json.dumps({"__type": ERROR_TYPE_PREFIX + code, "message": str(message)},
                      separators=(",", ":")).encode()
    return ErrorRule(code, status, rate, None if ops is None else frozenset(ops), body)


def _number(value: object, where: str, allowed: str, high: float = math.inf) -> float:
    """A finite number in [0, high]; ``allowed`` says so in the user's terms."""
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or not 0.0 <= value <= high):
        raise ConfigError(f"{where}: {value!r} is not {allowed}")
    return float(value)
