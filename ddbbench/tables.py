"""Creating, recreating and counting a design's tables."""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions

from ddbbench.errors import BenchError
from ddbbench.ownership import Ownership
from ddbbench.schemacheck import check_schemas


def existing_tables(client: Any) -> set[str]:
    names: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        names.update(page["TableNames"])
    return names


def ensure_tables(client: Any, specs: list[dict[str, Any]], recreate: bool = False,
                  timeout_s: float = 300.0, owner: Ownership | None = None,
                  design: str = "") -> list[str]:
    """Create missing tables (deleting them first when ``recreate``); return those created.

    With ``owner``, before anything is written: existing tables it does not own are refused,
    kept ones are checked against the specs (``design`` names it in the message), and created
    ones carry the ownership tags and are recorded."""
    present = existing_tables(client)
    if owner is not None:
        owner.refuse_foreign([s["TableName"] for s in specs if s["TableName"] in present])
        kept = [s for s in specs if s["TableName"] in present and not recreate]
        check_schemas(client, kept, design)
    created = []
    for spec in specs:
        name = spec["TableName"]
        if name in present and recreate:
            client.delete_table(TableName=name)
            client.get_waiter("table_not_exists").wait(TableName=name)
            present.discard(name)
        if name not in present:
            _create(client, spec, owner)
            created.append(name)
    for spec in specs:
        _await_active(client, spec["TableName"], timeout_s)
    if owner is not None:
        for name in created:
            owner.note_created(name)
    return created


def check_tables(client: Any, specs: list[dict[str, Any]], owner: Ownership, design: str,
                 recreate: bool = False) -> list[str]:
    """Before a run writes anything: the existing tables are owned and (unless they are to be
    recreated) match the design. Returns the tables that do not exist.

    A missing table is the caller's to judge: a load creates it; a replay warns, since
    ``ddbbench.stub`` (the measurement-truth server) answers every request but has no tables."""
    present = existing_tables(client)
    kept = [s for s in specs if s["TableName"] in present]
    owner.refuse_foreign([s["TableName"] for s in kept])
    if not recreate:
        check_schemas(client, kept, design)
    return [s["TableName"] for s in specs if s["TableName"] not in present]


def _create(client: Any, spec: dict[str, Any], owner: Ownership | None) -> None:
    name = spec["TableName"]
    tagged = {**spec, "Tags": owner.tags()} if owner is not None and owner.enforce else spec
    try:
        try:
            client.create_table(**tagged)
        except botocore.exceptions.ClientError as exc:
            if tagged is spec or "tag" not in str(exc.response["Error"].get("Message", "")).lower():
                raise
            client.create_table(**spec)  # an endpoint without tagging: the registry records it
    except botocore.exceptions.ClientError as exc:
        raise BenchError(f"cannot create table {name}: "
                         f"{exc.response['Error'].get('Message')}") from None


def delete_tables(client: Any, names: list[str]) -> list[str]:
    """Delete ``names`` (those that still exist) and wait until they are gone; return those deleted."""
    gone = []
    for name in names:
        try:
            client.delete_table(TableName=name)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            continue
        gone.append(name)
    for name in gone:  # the waiter's default polls every 20 s; a deletion takes seconds
        client.get_waiter("table_not_exists").wait(TableName=name,
                                                   WaiterConfig={"Delay": 2, "MaxAttempts": 300})
    return gone


def _await_active(client: Any, name: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        table = client.describe_table(TableName=name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table["TableStatus"] == "ACTIVE" and all(i["IndexStatus"] == "ACTIVE" for i in indexes):
            return
        time.sleep(1.0)
    raise BenchError(f"table {name} was not ACTIVE within {timeout_s:.0f}s")


def count_items(client: Any, table: str) -> int:
    """Exact item count by a COUNT scan (DescribeTable's ItemCount lags by hours on AWS).

    On a real table this consumes read capacity: about 0.5 RCU per 4 KB scanned.
    """
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
        total += page["Count"]
    return total
