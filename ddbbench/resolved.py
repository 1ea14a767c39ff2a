"""The resolved run: the one hand-off from an entry point to everything downstream.

An entry point (the ``ddbbench`` command, or plain ``locust -f ... --ddb-scenario``) reads the
scenarios file, applies every override and resolves the target exactly once, then writes the
result into the run directory's manifest (``scenario`` and ``target``) before any load starts.
Load processes, knee steps and design comparisons read it back from there; none of them sees
a scenario name or a target text again, so the replay always goes where the load went, with
the same settings and the same credentials source.

Example::

    >>> from ddbbench.scenario import Scenario
    >>> run = ResolvedRun(Scenario(name="t"), Endpoint("local", "http://127.0.0.1:8000", "us-east-1"))
    >>> again = ResolvedRun.from_manifest(run.manifest_fields())
    >>> again == run
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddbbench.client import Endpoint
from ddbbench.designs import check_scenario_design, with_design
from ddbbench.errors import ConfigError, UnusableInput
from ddbbench.ownership import AUTO_PREFIX, auto_prefix, with_table_prefix
from ddbbench.rundir import read_manifest
from ddbbench.scenario import Scenario, check_target
from ddbbench.typed import build


@dataclass(frozen=True)
class ResolvedRun:
    """A scenario with every override applied, and the endpoint it runs against."""

    scenario: Scenario
    endpoint: Endpoint

    def manifest_fields(self) -> dict[str, Any]:
        """What the manifest records of the run (the hand-off itself)."""
        return {"scenario": self.scenario.to_dict(), "target": self.endpoint.describe()}

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], where: str = "manifest") -> ResolvedRun:
        if not isinstance(manifest.get("scenario"), dict) or not isinstance(manifest.get("target"), dict):
            raise UnusableInput(f"{where}: no resolved scenario and target; allowed: a run directory "
                                "written by `ddbbench run`, `ddbbench knee` or the locustfile")
        return cls(scenario_from_dict(manifest["scenario"], f"{where}.scenario"),
                   Endpoint.from_dict(manifest["target"], f"{where}.target"))


@dataclass(frozen=True)
class Overrides:
    """Command-line changes to a scenario (None: keep the scenario's value)."""

    target: str | None = None
    design: str | None = None
    duration_s: float | None = None
    users: int | None = None
    processes: int | None = None
    table_prefix: str | None = None  # None: ddbbench-<dataset identity>- off DynamoDB Local


def owned_names(sc: Scenario, prefix: str | None = None) -> Scenario:
    """The scenario with its final table names: ``prefix`` when given ("" keeps the names as
    written), else off DynamoDB Local the automatic ``ddbbench-<identity>-`` (recomputed if the
    design or dataset changed), else the names as they are. Applied once, by the resolution.

    >>> owned_names(Scenario(name="t", target="aws")).tables.events.startswith("ddbbench-")
    True
    >>> owned_names(Scenario(name="t")).tables.events
    'PoppAIEventLog'
    """
    if prefix is not None:
        return with_table_prefix(sc, prefix)
    if sc.target != "local" and (not sc.tables.prefix or AUTO_PREFIX.match(sc.tables.prefix)):
        return with_table_prefix(sc, auto_prefix(sc))
    return sc


def redesigned(sc: Scenario, design: str, where: str = "--design") -> Scenario:
    """The resolved scenario on another key design: an automatic prefix follows the design
    (each design gets tables of its own); a prefix the user chose, or none, stays."""
    changed = with_design(sc, design, where)
    return owned_names(changed) if AUTO_PREFIX.match(sc.tables.prefix) else changed


def apply_overrides(sc: Scenario, o: Overrides, flag: str = "--") -> Scenario:
    """The scenario with ``o`` applied, each value checked as the file's would be; ``flag``
    prefixes option names in messages (``--`` for ddbbench, ``--ddb-`` for Locust).

    >>> apply_overrides(Scenario(name="t"), Overrides(duration_s=30, users=2)).load.run_time_s
    30.0
    """
    if o.target:
        check_target(o.target, f"{flag}target")
        sc = dataclasses.replace(sc, target=o.target)
    if o.design:
        sc = with_design(sc, o.design, f"{flag}design")
    else:
        check_scenario_design(sc)
    changes: dict[str, float | int] = {}
    if o.duration_s is not None:
        if not o.duration_s > 0:
            raise ConfigError(f"{flag}duration: {o.duration_s:g} is not a duration in seconds > 0")
        changes["duration_s"] = float(o.duration_s)
    for name, value in (("users", o.users), ("processes", o.processes)):
        if value is not None:
            if value < 1:
                raise ConfigError(f"{flag}{name}: {value} is not a count >= 1")
            changes[name] = value
    if changes:
        load = dataclasses.replace(sc.load, **changes)
        load.validate(f"scenarios.{sc.name}.load (with command-line overrides)")
        sc = dataclasses.replace(sc, load=load)
    return owned_names(sc, o.table_prefix)


def scenario_from_dict(doc: dict[str, Any], where: str) -> Scenario:
    """A scenario as ``Scenario.to_dict`` wrote it, validated again as if read from a file."""
    try:
        return build(Scenario, doc, where)
    except ConfigError as exc:  # written by another version of ddbbench, or edited by hand
        raise UnusableInput(f"{exc}") from None


def read_resolved(run_dir: Path) -> ResolvedRun:
    """The resolved run a run directory's manifest hands to its load processes."""
    return ResolvedRun.from_manifest(read_manifest(run_dir), f"{Path(run_dir) / 'manifest.json'}")
