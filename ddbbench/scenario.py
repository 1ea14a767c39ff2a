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
import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ddbbench.errors import ConfigError
from ddbbench.facts import BATCH_WRITE_LIMIT, PATTERN_FACTS, PATTERNS, STATUSES, PatternFact
from ddbbench.facts import SEED_PATTERNS as SEED_PATTERNS  # re-exported for existing imports
from ddbbench.objectives import DEFAULT_ERROR_BUDGET as DEFAULT_ERROR_BUDGET  # re-exported
from ddbbench.objectives import Objective as Objective  # re-exported: the model's objectives
from ddbbench.objectives import Slo
from ddbbench.table_settings import TableSettings
from ddbbench.typed import build, rule

FORMAT_VERSION = 1
LOCAL_WARMUP_REQUESTS = 3000  # DynamoDB Local's JIT (docs/measurement.md); billed anywhere else
KEY_DISTRIBUTIONS = ("uniform", "zipfian", "hotspot", "latest")
# The key designs of ddbbench/designs (checked there against its registry).
DESIGN_NAMES = ("seed", "gsi-status-updated", "single-table", "messages-as-items", "sparse-active-index")


@dataclass(frozen=True)
class Range:
    """Messages per conversation: ``uniform`` over min..max, or ``lognormal`` around
    ``median`` (most conversations short, a long tail), clipped to min..max."""

    min: int = rule(2, what="a count", ge=0)
    max: int = rule(12, what="a count", ge=0)
    distribution: str = rule("uniform", what="a count distribution", choices=("uniform", "lognormal"))
    median: float = rule(6.0, what="a median count", gt=0)
    sigma: float = rule(0.6, what="a log-normal sigma", gt=0, le=3)

    def validate(self, path: str) -> None:
        if self.max < self.min:
            raise ConfigError(f"{path}.max: {self.max} is not a count >= min ({self.min})")


@dataclass(frozen=True)
class MessageLength:
    """Length of a candidate's messages in characters: log-normal around ``median_chars``,
    at most ``max_chars`` (the system's messages come from fixed templates)."""

    median_chars: float = rule(120.0, what="a length in characters", ge=1)
    sigma: float = rule(0.8, what="a log-normal sigma", gt=0, le=3)
    max_chars: int = rule(1500, what="a length in characters", ge=1, le=100_000)

    def validate(self, path: str) -> None:
        if self.max_chars < self.median_chars:
            raise ConfigError(f"{path}.max_chars: {self.max_chars} is not a length >= "
                              f"median_chars ({self.median_chars:g})")


@dataclass(frozen=True)
class Ownership:
    """How conversations are spread over candidates: ``zipfian`` gives a few candidates many
    conversations (rank k owns a share proportional to 1/k^zipf_s); ``uniform`` spreads them
    evenly."""

    distribution: str = rule("zipfian", what="an ownership distribution", choices=("uniform", "zipfian"))
    zipf_s: float = rule(0.6, what="a Zipf exponent", gt=0, le=3)

    @property
    def exponent(self) -> float:
        return self.zipf_s if self.distribution == "zipfian" else 0.0


@dataclass(frozen=True)
class Dataset:
    seed: int = rule(42, what="a seed", ge=0)
    candidates: int = rule(1000, what="a count", ge=1)
    conversations: int = rule(5000, what="a count", ge=1)
    jobs: int = rule(200, what="a count", ge=1)
    messages: Range = field(default_factory=Range)
    message_length: MessageLength = field(default_factory=MessageLength)
    conversations_per_candidate: Ownership = field(default_factory=Ownership)
    events: bool = True  # event-log items: created and status-changed events per conversation


@dataclass(frozen=True)
class Tables:
    conversations: str = "PoppAIChatConversations"
    status_index: str = "candidateId-status-index"
    candidates: str = "PoppAICandidateProfiles"
    events: str = "PoppAIEventLog"
    # The part of each table name added for ownership (docs/real-tables.md); set by the
    # resolution (ddbbench.resolved), which strips it again to find the logical names.
    prefix: str = ""

    def validate(self, path: str) -> None:
        for name in ("conversations", "status_index", "candidates", "events"):
            _check_table_name(getattr(self, name), f"{path}.{name}")
        for name in ("conversations", "candidates", "events"):
            if not getattr(self, name).startswith(self.prefix):
                raise ConfigError(f"{path}.prefix: {getattr(self, name)!r} does not start with "
                                  f"{self.prefix!r}; choose a prefix with --table-prefix instead")


def pattern_fields(field_of: Callable[[PatternFact], tuple[str, Any] | None]) -> Callable[[type], type]:
    """Class decorator, applied before ``@dataclass``: a field per pattern of the registry
    (``ddbbench.facts.PATTERN_FACTS``; ``field_of`` gives its type hint and default, or None),
    after the class's first own field. A new pattern gets its weight and key choice from its
    registry line alone."""

    def decorate(cls: type) -> type:
        own = list(inspect.get_annotations(cls).items())
        added = {fact.name: made for fact in PATTERN_FACTS if (made := field_of(fact)) is not None}
        for name, (_hint, default) in added.items():
            setattr(cls, name, default)
        cls.__annotations__ = dict(own[:1] + [(n, hint) for n, (hint, _) in added.items()] + own[1:])
        return cls

    return decorate


@dataclass(frozen=True)
@pattern_fields(lambda p: ("float", rule(p.weight, what="a weight", ge=0)))
class Mix:
    """Weights of the patterns of ``ddbbench.facts.PATTERNS`` (>= 0, not percentages)."""

    def validate(self, path: str) -> None:
        if sum(self.weights().values()) <= 0:
            raise ConfigError(f"{path}: all weights are 0; at least one must be > 0")

    def weights(self) -> dict[str, float]:
        return {p: getattr(self, p) for p in PATTERNS}


@dataclass(frozen=True)
class KeyChoice:
    """How a pattern picks the item it touches (see ddbbench/keydist.py)."""

    distribution: str = rule("uniform", what="a key distribution", choices=KEY_DISTRIBUTIONS)
    zipf_s: float = rule(0.99, what="a Zipf exponent", gt=0)
    hot_keys: float = rule(0.01, what="a fraction of keys", gt=0, le=1)
    hot_requests: float = rule(0.9, what="a fraction of requests", ge=0, le=1)


@dataclass(frozen=True)
@pattern_fields(lambda p: None if p.keys is None else ("KeyChoice | None", None))  # after default
class Keys:
    """Key choice per pattern that draws existing keys (``ddbbench.facts.KEYED_PATTERNS``);
    one without its own entry uses ``default``. Then the patterns' own settings."""

    default: KeyChoice = field(default_factory=KeyChoice)
    batch_get_size: int = rule(10, what="a key count", ge=1, le=100)
    log_events_batch_size: int = rule(5, what="an event count", ge=1, le=BATCH_WRITE_LIMIT)
    # The statuses query_by_candidate_status asks for: the drawn conversation's own status when
    # listed, else one of these. The seed document's query finds *active* conversations.
    query_statuses: tuple[str, ...] = ("CREATED", "ONGOING")

    def validate(self, path: str) -> None:
        for n, status in enumerate(self.query_statuses):
            if status not in STATUSES:
                raise ConfigError(f"{path}.query_statuses[{n}]: {status!r} is not a status; "
                                  f"allowed: {', '.join(STATUSES)}")
        if not self.query_statuses:
            raise ConfigError(f"{path}.query_statuses: empty; list at least one of {', '.join(STATUSES)}")

    def for_pattern(self, pattern: str) -> KeyChoice:
        return getattr(self, pattern, None) or self.default


@dataclass(frozen=True)
class Stage:
    duration_s: float = rule(30.0, what="a duration in seconds", gt=0)
    rate: float = rule(100.0, what="requests per second", ge=0)


@dataclass(frozen=True)
class Load:
    """How hard and how long.

    ``model: closed``: ``users`` Locust users, each paced to ``rate_per_user`` requests/s
    (0 = unpaced: each user sends as fast as responses come back).
    ``model: open``: requests arrive at ``arrival_rate`` requests/s in all (or per ``stages``)
    whatever the responses do; latency is timed from each request's intended start, so a stall
    shows in the percentiles (coordinated omission); at most ``max_in_flight`` requests per
    process are outstanding, later ones wait and are counted as late.
    ``warmup_requests`` are sent before Locust starts (DynamoDB Local's JVM needs about 2,000
    requests of JIT warm-up before its latency settles; null, the default, means
    ``LOCAL_WARMUP_REQUESTS`` on DynamoDB Local and 0 elsewhere, where each is billed); the
    first ``warmup_s`` seconds of the Locust run (spawning, connection set-up) are executed but not measured.
    ``calibration_requests`` measure the client's own overhead against a local stub first.
    ``deterministic``: ids this run creates (conversations, events) and the arrival phase are
    derived from the dataset seed instead of drawn at random, so two runs of the same code send
    the same requests (for the capacity gate: docs/ci-gate.md); one load process only, and
    freshly loaded tables (a second run against kept tables would create the same ids again).
    """

    model: str = rule("closed", what="a load model", choices=("closed", "open"))
    users: int = rule(8, what="a user count", ge=1)
    spawn_rate: float = rule(8.0, what="users per second", gt=0)
    duration_s: float | None = rule(None, what="a duration in seconds", gt=0)
    rate_per_user: float = rule(10.0, what="requests per second", ge=0)
    arrival_rate: float = rule(100.0, what="requests per second", gt=0)
    stages: tuple[Stage, ...] = ()
    max_in_flight: int = rule(64, what="a request count", ge=1)
    processes: int = rule(1, what="a process count", ge=1, le=64)
    warmup_requests: int | None = rule(None, what="a request count", ge=0)
    warmup_s: float = rule(5.0, what="a duration in seconds", ge=0)
    calibration_requests: int = rule(300, what="a request count", ge=0)
    deterministic: bool = False

    @property
    def run_time_s(self) -> float:
        """Length of the Locust run: the stages' total, else duration_s (default 60 s)."""
        if self.stages:
            return sum(s.duration_s for s in self.stages)
        return 60.0 if self.duration_s is None else self.duration_s

    def arrival_stages(self) -> tuple[Stage, ...]:
        """Open-model rates over the run: the stages, or arrival_rate for the whole run."""
        return self.stages or (Stage(self.run_time_s, self.arrival_rate),)

    def warmup_for(self, target_kind: str) -> int:
        """Warm-up requests on a target of this kind (``ddbbench.client.KINDS``)."""
        if self.warmup_requests is not None:
            return self.warmup_requests
        return LOCAL_WARMUP_REQUESTS if target_kind == "local" else 0

    def validate(self, path: str) -> None:
        if self.stages and self.model != "open":
            raise ConfigError(f"{path}.stages: stages are arrival rates of the open model; "
                              f"set {path}.model: open (or remove stages)")
        if (self.stages and self.duration_s is not None
                and not math.isclose(self.duration_s, self.run_time_s, rel_tol=1e-9)):
            raise ConfigError(f"{path}.duration_s: {self.duration_s:g} is not the stages' total "
                              f"({self.run_time_s:g}); omit duration_s when giving stages")
        if self.deterministic and self.processes > 1:
            raise ConfigError(f"{path}.processes: {self.processes} with deterministic: true; allowed: 1 "
                              "(processes would need distinct seeded ids)")
        if self.warmup_s >= self.run_time_s:
            raise ConfigError(f"{path}.warmup_s: {self.warmup_s:g} is not a duration < the run "
                              f"time ({self.run_time_s:g}); nothing would be measured")


@dataclass(frozen=True)
class Measurement:
    """Histogram interval length, and the fraction of requests kept as raw CSV rows (a
    deterministic sample; histograms and counts always include every request)."""

    interval_s: float = rule(5.0, what="an interval in seconds", gt=0)
    raw_fraction: float = rule(1.0, what="a fraction", ge=0, le=1)


@dataclass(frozen=True)
class Client:
    """``kind``: boto3 (what a Python application sees) or lean (``ddbbench.lean``: signed raw
    HTTP, same semantics, several times less client CPU per request; standard retries only)."""

    retry_mode: str = rule("standard", what="a retry mode", choices=("standard", "adaptive", "legacy"))
    max_attempts: int = rule(3, what="an attempt count", ge=1)
    connect_timeout_s: float = rule(2.0, what="a timeout in seconds", gt=0)
    read_timeout_s: float = rule(5.0, what="a timeout in seconds", gt=0)
    kind: str = rule("boto3", what="a client kind", choices=("boto3", "lean"))

    def validate(self, path: str) -> None:
        if self.kind == "lean" and self.retry_mode != "standard":
            raise ConfigError(f"{path}.retry_mode: {self.retry_mode!r} is not available with client kind "
                              "lean; allowed: standard (or kind boto3)")


@dataclass(frozen=True)
class Loader:
    """Bulk loading (datagen/loader.py): ``workers`` threads send BatchWriteItem calls; the
    dataset is written in chunks of ``chunk_size`` entities (the unit of resuming); the write
    rate is capped at ``max_items_per_s`` items and/or ``max_wcu_per_s`` write capacity units
    per second (0 = unlimited), so a load does not throttle an application sharing the table."""

    workers: int = rule(4, what="a thread count", ge=1, le=64)
    chunk_size: int = rule(1000, what="an entity count", ge=1, le=1_000_000)
    max_items_per_s: float = rule(0.0, what="a rate in items per second", ge=0)
    max_wcu_per_s: float = rule(0.0, what="a rate in write capacity units per second", ge=0)


@dataclass(frozen=True)
class Scenario:
    name: str = ""
    description: str = ""
    target: str = "local"
    region: str = "us-east-1"
    design: str = rule("seed", what="a key design", choices=DESIGN_NAMES)
    dataset: Dataset = field(default_factory=Dataset)
    tables: Tables = field(default_factory=Tables)
    table_settings: TableSettings = field(default_factory=TableSettings)
    mix: Mix = field(default_factory=Mix)
    keys: Keys = field(default_factory=Keys)
    load: Load = field(default_factory=Load)
    measurement: Measurement = field(default_factory=Measurement)
    slo: Slo = field(default_factory=Slo)
    client: Client = field(default_factory=Client)
    loader: Loader = field(default_factory=Loader)

    def validate(self, path: str) -> None:
        # Whether the design can answer it: a layer up (ddbbench.designs.check_scenario_design).
        check_target(self.target, f"{path}.target")
        self.slo.check_mix(self.mix.weights(), f"{path}.slo")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (tuples as lists), parseable back by ``parse_scenarios``."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def with_design(sc: Scenario, design: str, where: str = "--design") -> Scenario:
    """The scenario on another key design, its name checked as if written in the file
    (``ddbbench.designs.with_design`` also checks that the design can answer it)."""
    Scenario.__dataclass_fields__["design"].metadata["rule"].check(design, where)
    return dataclasses.replace(sc, design=design)


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
