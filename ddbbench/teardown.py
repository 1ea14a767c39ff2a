"""``ddbbench tables``: list, delete and adopt the tables the harness owns.

Sizes come from DescribeTable (ItemCount and TableSizeBytes, refreshed about every six hours
by the service); no data table is ever scanned. Only the registry of owned tables is read
whole (``ddbbench.ownership.REGISTRY``: one small item per table).

Example::

    ddbbench tables list --target aws
    ddbbench tables delete --target aws --dataset 1a2b3c4d --yes
    ddbbench tables adopt MyImportedTable --target aws --yes
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from ddbbench.client import check_reachable, open_target
from ddbbench.errors import BenchError, ConfigError
from ddbbench.ownership import OWNER_TAG, REGISTRY, Ownership
from ddbbench.scenario import Scenario
from ddbbench.tables import delete_tables

Echo = Callable[[str], None]
ACTIONS = ("list", "delete", "adopt")


@dataclass(frozen=True)
class TablesRequest:
    scenario: Scenario  # resolved: its target, region and client settings are used
    action: str
    names: tuple[str, ...] = ()  # adopt: the tables to mark as owned
    dataset: str | None = None  # delete: only the tables of this dataset identity
    yes: bool = False


def manage_tables(req: TablesRequest, echo: Echo) -> list[dict[str, Any]]:
    """Run one ``ddbbench tables`` action; return the rows it listed, deleted or adopted."""
    sc = req.scenario
    with open_target(sc.target, sc.region, start_local=False) as endpoint:
        check_reachable(endpoint, sc.client)
        owner = Ownership.for_target(endpoint, sc)
        if req.action == "list":
            return owned_tables(owner)
        if req.action == "delete":
            return delete_owned(owner, req.dataset, req.yes, echo)
        if req.action == "adopt":
            return adopt(owner, req.names, req.yes, echo)
    raise ConfigError(f"tables: {req.action!r} is not an action; allowed: {', '.join(ACTIONS)}")


def owned_tables(owner: Ownership) -> list[dict[str, Any]]:
    """Every recorded table with its record, tags and sizes (DescribeTable)."""
    rows = []
    for record in owner.records():
        row: dict[str, Any] = {**record, "exists": False}
        try:
            t = owner.client.describe_table(TableName=record["tableName"])["Table"]
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            rows.append(row)
            continue
        tags = owner.table_tags(t["TableArn"])
        row |= {"exists": True, "status": t["TableStatus"], "items": t.get("ItemCount", 0),
                "bytes": t.get("TableSizeBytes", 0), "owned": owner.owns(record["tableName"]),
                "tags": {k: v for k, v in tags.items() if k.startswith("ddbbench:")}}
        rows.append(row)
    return rows


def delete_owned(owner: Ownership, dataset: str | None, yes: bool, echo: Echo) -> list[dict[str, Any]]:
    """Delete the owned tables (of ``dataset`` only, if given); without ``yes`` only say which."""
    rows = [r for r in owned_tables(owner) if dataset is None or r["dataset"] == dataset]
    doomed = [r for r in rows if r["exists"] and r["owned"]]
    if not yes:
        names = ", ".join(r["tableName"] for r in doomed) or "none"
        raise ConfigError(f"tables delete: would delete {len(doomed)} owned table(s): {names}; "
                          "pass --yes to delete them")
    delete_tables(owner.client, [r["tableName"] for r in doomed])
    for r in rows:
        if not r["exists"] or r["owned"]:  # a record whose table was made again by others stays
            owner.forget(r["tableName"])
    for r in doomed:
        echo(f"deleted {r['tableName']}")
    if dataset is None and not owner.records():
        delete_tables(owner.client, [REGISTRY])
        echo(f"deleted the empty ownership registry {REGISTRY}")
    return doomed


def adopt(owner: Ownership, names: tuple[str, ...], yes: bool, echo: Echo) -> list[dict[str, Any]]:
    """Mark existing tables the user made as owned (the harness may then write and delete them)."""
    if not names:
        raise ConfigError("tables adopt: name the table(s) to adopt")
    if not yes:
        raise ConfigError(f"tables adopt: {', '.join(names)} would become ddbbench's: it may then write "
                          "into, recreate and delete them; pass --yes to adopt them")
    rows = []
    for name in names:
        try:
            arn = owner.client.describe_table(TableName=name)["Table"]["TableArn"]
        except botocore.exceptions.ClientError as exc:
            raise BenchError(f"tables adopt: cannot describe table {name}: "
                             f"{exc.response.get('Error', {}).get('Message')}") from None
        owner.record(name, "adopted", "adopted")
        _tag(owner, arn)
        echo(f"adopted {name}")
        rows.append({"tableName": name, "how": "adopted"})
    return rows


def _tag(owner: Ownership, arn: str) -> None:
    # No tagging on some endpoints (DynamoDB Local): the registry record is what counts.
    with contextlib.suppress(botocore.exceptions.ClientError):
        owner.client.tag_resource(ResourceArn=arn, Tags=[{"Key": OWNER_TAG, "Value": "ddbbench"}])


def teardown_created(owner: Ownership, echo: Echo) -> list[str]:
    """``run --teardown``: delete the tables this run created, and their records."""
    gone = delete_tables(owner.client, list(owner.created))
    if owner.enforce:
        for name in owner.created:
            owner.forget(name)
    if gone:
        echo(f"teardown: deleted {', '.join(gone)}")
    return gone
