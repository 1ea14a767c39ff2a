"""The scenario model: what to generate, where, which access patterns, how hard, what goal.

``load_scenarios`` is the one place that reads ``scenarios.yaml``; everything else receives
frozen, validated ``Scenario`` objects.

Example::

    >>> from ddbbench.scenario import load_scenario
    >>> sc = load_scenario("scenarios.yaml", "smoke")
    >>> sc.load.users, sc.slo.threshold_ms
    (4, 10.0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ddbbench.errors import ConfigError
from ddbbench.typed import build, rule

FORMAT_VERSION = 1
PATTERNS = ("get_conversation", "query_by_candidate_status", "update_status", "append_message")
STATUSES = ("CREATED", "ONGOING", "COMPLETED")


@dataclass(frozen=True)
class Range:
    min: int = rule(2, what="a count", ge=0)
    max: int = rule(12, what="a count", ge=0)

    def validate(self, path: str) -> None:
        if self.max < self.min:
            raise ConfigError(f"{path}.max: {self.max} is not a count >= min ({self.min})")


@dataclass(frozen=True)
class Dataset:
    seed: int = rule(42, what="a seed", ge=0)
    candidates: int = rule(1000, what="a count", ge=1)
    conversations: int = rule(5000, what="a count", ge=1)
    jobs: int = rule(200, what="a count", ge=1)
    messages: Range = field(default_factory=Range)


@dataclass(frozen=True)
class Tables:
    conversations: str = "PoppAIChatConversations"
    status_index: str = "candidateId-status-index"
    candidates: str = "PoppAICandidateProfiles"

    def validate(self, path: str) -> None:
        for name in ("conversations", "status_index", "candidates"):
            _check_table_name(getattr(self, name), f"{path}.{name}")


@dataclass(frozen=True)
class Mix:
    """Relative weights of the access patterns (any non-negative numbers, not percentages)."""

    get_conversation: float = rule(40.0, what="a weight", ge=0)
    query_by_candidate_status: float = rule(30.0, what="a weight", ge=0)
    update_status: float = rule(15.0, what="a weight", ge=0)
    append_message: float = rule(15.0, what="a weight", ge=0)

    def validate(self, path: str) -> None:
        if sum(self.weights().values()) <= 0:
            raise ConfigError(f"{path}: all weights are 0; at least one must be > 0")

    def weights(self) -> dict[str, float]:
        return {p: getattr(self, p) for p in PATTERNS}


@dataclass(frozen=True)
class Load:
    """Closed-model load: ``users`` Locust users, each paced to ``rate_per_user`` requests/s.

    ``rate_per_user: 0`` means no pacing (each user sends as fast as responses come back).
    ``warmup_requests`` are sent before Locust starts (DynamoDB Local's JVM needs about 2,000
    requests of JIT warm-up before its latency settles); the first ``warmup_s`` seconds of the
    Locust run (spawning, connection set-up) are executed but not measured.
    """

    users: int = rule(8, what="a user count", ge=1)
    spawn_rate: float = rule(8.0, what="users per second", gt=0)
    duration_s: float = rule(60.0, what="a duration in seconds", gt=0)
    rate_per_user: float = rule(10.0, what="requests per second", ge=0)
    warmup_requests: int = rule(3000, what="a request count", ge=0)
    warmup_s: float = rule(5.0, what="a duration in seconds", ge=0)

    def validate(self, path: str) -> None:
        if self.warmup_s >= self.duration_s:
            raise ConfigError(f"{path}.warmup_s: {self.warmup_s:g} is not a duration < "
                              f"duration_s ({self.duration_s:g}); nothing would be measured")


@dataclass(frozen=True)
class Slo:
    percentile: float = rule(99.0, what="a percentile", gt=0, le=100)
    threshold_ms: float = rule(10.0, what="a latency in ms", gt=0)


@dataclass(frozen=True)
class Client:
    retry_mode: str = rule("standard", what="a retry mode", choices=("standard", "adaptive", "legacy"))
    max_attempts: int = rule(3, what="an attempt count", ge=1)
    connect_timeout_s: float = rule(2.0, what="a timeout in seconds", gt=0)
    read_timeout_s: float = rule(5.0, what="a timeout in seconds", gt=0)


@dataclass(frozen=True)
class Loader:
    workers: int = rule(4, what="a thread count", ge=1, le=64)


@dataclass(frozen=True)
class Scenario:
    name: str = ""
    description: str = ""
    target: str = "local"
    region: str = "us-east-1"
    dataset: Dataset = field(default_factory=Dataset)
    tables: Tables = field(default_factory=Tables)
    mix: Mix = field(default_factory=Mix)
    load: Load = field(default_factory=Load)
    slo: Slo = field(default_factory=Slo)
    client: Client = field(default_factory=Client)
    loader: Loader = field(default_factory=Loader)

    def validate(self, path: str) -> None:
        check_target(self.target, f"{path}.target")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_target(target: str, path: str) -> None:
    """A target is ``local`` (managed DynamoDB Local), ``aws`` or an http(s) endpoint URL."""
    if target in ("local", "aws") or target.startswith(("http://", "https://")):
        return
    raise ConfigError(f"{path}: {target!r} is not a target; allowed: local, aws, or an http(s):// URL")


def load_scenarios(path: str | Path) -> dict[str, Scenario]:
    """Read and validate every scenario in a scenarios file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read scenarios file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    return parse_scenarios(doc, source=str(path))


def parse_scenarios(doc: Any, source: str = "scenarios") -> dict[str, Scenario]:
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping with 'version' and 'scenarios'")
    unknown = set(doc) - {"version", "scenarios"}
    if unknown:
        first = sorted(map(str, unknown))[0]
        raise ConfigError(f"{first}: unknown top-level key; allowed: version, scenarios")
    version = doc.get("version")
    if type(version) is not int or version != FORMAT_VERSION:  # True == 1 in Python
        raise ConfigError(f"version: {version!r} is not a supported version ({FORMAT_VERSION})")
    entries = doc.get("scenarios")
    if not isinstance(entries, dict) or not entries:
        raise ConfigError("scenarios: expected a non-empty mapping of scenario name to settings")
    result = {}
    for name, body in entries.items():
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"scenarios.{name}: {name!r} is not a name of letters, digits, - and _")
        if isinstance(body, dict) and "name" in body:
            raise ConfigError(f"scenarios.{name}.name: unknown key; the name is the mapping key")
        scenario = build(Scenario, body, f"scenarios.{name}")
        result[name] = dataclasses.replace(scenario, name=name)
    return result


def load_scenario(path: str | Path, name: str) -> Scenario:
    """Read one scenario by name; an unknown name lists the ones that exist."""
    scenarios = load_scenarios(path)
    if name not in scenarios:
        raise ConfigError(f"scenario {name!r} is not in {path}; available: {', '.join(scenarios)}")
    return scenarios[name]


def _check_table_name(name: str, path: str) -> None:
    # DynamoDB's own rule, checked here so a typo fails before any request is sent.
    ok = 3 <= len(name) <= 255 and all(c.isascii() and (c.isalnum() or c in "_-.") for c in name)
    if not ok:
        raise ConfigError(f"{path}: {name!r} is not a table/index name (3-255 of a-z A-Z 0-9 _ - .)")
