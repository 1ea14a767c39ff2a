"""Which tables the harness owns: the only tables it writes to, scans, deletes or recreates.

Off DynamoDB Local (any endpoint URL, and ``aws``) the tables ddbbench makes get a prefix
keyed to the dataset they hold, ``ddbbench-<identity>-`` (``dataset_identity``: a hash of the
dataset settings, the design and the logical table names, so ``load -s smoke`` and
``run -s smoke-open --skip-load`` meet in the same tables), and carry two tags passed in
CreateTable itself, ``ddbbench:owner = ddbbench`` and ``ddbbench:dataset = <identity>``.

Tags alone cannot be the record: DynamoDB Local accepts ``Tags`` in CreateTable without a
word and then answers every tagging call with ``UnknownOperationException: Tagging is not
currently supported in DynamoDB Local`` (seen with 3.3.0), and the service applies tags
eventually. So every table the harness creates or adopts is also written, with its creation
time, into a small registry table of its own, ``ddbbench-ownership`` (key ``tableName``),
read with strongly consistent reads. A table counts as owned when this process created it,
when the registry holds it with the same creation time (a table deleted and made again by
someone else under the same name is not owned), or when its tags say so. On the ``local``
target (a DynamoDB Local the harness runs) nothing is recorded or checked: it is a sandbox.

Example::

    >>> from ddbbench.scenario import Scenario
    >>> with_table_prefix(Scenario(name="t"), "team-").tables.conversations
    'team-PoppAIChatConversations'
    >>> AUTO_PREFIX.match(auto_prefix(Scenario(name="t"))) is not None
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions

from ddbbench.client import Endpoint, make_client
from ddbbench.errors import BenchError, ConfigError
from ddbbench.scenario import Scenario, Tables

OWNER_TAG, DATASET_TAG, OWNER = "ddbbench:owner", "ddbbench:dataset", "ddbbench"
REGISTRY = "ddbbench-ownership"
AUTO_PREFIX = re.compile(r"^ddbbench-[0-9a-f]{8}-$")
TABLE_FIELDS = ("conversations", "candidates", "events")  # status_index names an index


class NotOwned(ConfigError):
    """An existing table the harness did not create or adopt (exit code 2)."""


def logical_tables(tables: Tables) -> dict[str, str]:
    """The names as the scenario wrote them, without the ownership prefix."""
    names = {f: getattr(tables, f).removeprefix(tables.prefix) for f in TABLE_FIELDS}
    return names | {"status_index": tables.status_index}


def dataset_identity(sc: Scenario) -> str:
    """8 hex digits naming what the tables hold: dataset settings, design, logical names."""
    doc = {"dataset": dataclasses.asdict(sc.dataset), "design": sc.design,
           "tables": logical_tables(sc.tables)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:8]


def auto_prefix(sc: Scenario) -> str:
    return f"ddbbench-{dataset_identity(sc)}-"


def with_table_prefix(sc: Scenario, prefix: str) -> Scenario:
    """The scenario with its tables renamed to ``prefix`` + logical name."""
    logical = logical_tables(sc.tables)
    renamed = {f: prefix + logical[f] for f in TABLE_FIELDS}
    tables = dataclasses.replace(sc.tables, prefix=prefix, **renamed)
    tables.validate(f"scenarios.{sc.name}.tables (with table prefix {prefix!r})")
    return dataclasses.replace(sc, tables=tables)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass
class Ownership:
    """The ownership policy of one target: records, checks and the tables this run created.

    ``enforce`` is False on the ``local`` target: nothing is recorded or refused there, but
    ``created`` is still kept (``run --teardown`` deletes it)."""

    client: Any
    dataset: str
    enforce: bool = True
    target: str = ""  # as --target takes it, for the commands a message suggests
    created: list[str] = field(default_factory=list)

    @classmethod
    def for_target(cls, endpoint: Endpoint, sc: Scenario) -> Ownership:
        return cls(make_client(endpoint, sc.client), dataset_identity(sc), enforce=endpoint.kind != "local",
                   target=endpoint.url if endpoint.kind == "endpoint" and endpoint.url else endpoint.kind)

    def tags(self) -> list[dict[str, str]]:
        return [{"Key": OWNER_TAG, "Value": OWNER}, {"Key": DATASET_TAG, "Value": self.dataset}]

    def refuse_foreign(self, existing: list[str]) -> None:
        """One error naming every existing table in ``existing`` the harness does not own."""
        foreign = [name for name in existing if self.enforce and not self.owns(name)]
        if foreign:
            names = ", ".join(foreign)
            adopt = f"`ddbbench tables adopt {' '.join(foreign)} --target {self.target} --yes`"
            raise NotOwned(f"table(s) {names} exist and are not owned by ddbbench (no ownership record "
                           "or tag): nothing was written; use the default table prefix or another "
                           f"--table-prefix, or mark them as ddbbench's with {adopt}")

    def owns(self, name: str) -> bool:
        if name in self.created:
            return True  # trust what this run made (tags and DescribeTable may lag)
        table = self.client.describe_table(TableName=name)["Table"]
        record = self.record_of(name)
        if record is not None and record.get("tableCreatedAt") == _iso(table.get("CreationDateTime")):
            return True
        return self.table_tags(table["TableArn"]).get(OWNER_TAG) == OWNER

    def table_tags(self, arn: str) -> dict[str, str]:
        """A table's tags; none where the endpoint has no tagging (DynamoDB Local)."""
        try:
            pages = self.client.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
            return {t["Key"]: t["Value"] for page in pages for t in page.get("Tags", [])}
        except botocore.exceptions.ClientError:
            return {}

    def note_created(self, name: str) -> None:
        self.created.append(name)
        if self.enforce:
            self.record(name, "created", self.dataset)

    # --- the registry --------------------------------------------------------------------
    def record(self, name: str, how: str, dataset: str) -> None:
        created_at = self.client.describe_table(TableName=name)["Table"].get("CreationDateTime")
        item = {"tableName": name, "owner": OWNER, "dataset": dataset, "how": how,
                "recordedAt": datetime.now(UTC).isoformat(timespec="seconds"),
                "tableCreatedAt": _iso(created_at)}
        self._ensure_registry()
        self.client.put_item(TableName=REGISTRY, Item={k: {"S": v} for k, v in item.items()})

    def forget(self, name: str) -> None:
        try:
            self.client.delete_item(TableName=REGISTRY, Key={"tableName": {"S": name}})
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise

    def record_of(self, name: str) -> dict[str, str] | None:
        try:
            item = self.client.get_item(TableName=REGISTRY, Key={"tableName": {"S": name}},
                                        ConsistentRead=True).get("Item")
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return None  # no registry yet: nothing recorded
            raise
        return {k: v["S"] for k, v in item.items()} if item else None

    def records(self) -> list[dict[str, str]]:
        """Every registry record (a Scan of the registry alone: a handful of small items)."""
        try:
            pages = list(self.client.get_paginator("scan").paginate(TableName=REGISTRY, ConsistentRead=True))
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return []
            raise
        items = [{k: v["S"] for k, v in item.items()} for page in pages for item in page["Items"]]
        return sorted(items, key=lambda r: r["tableName"])

    def _ensure_registry(self, timeout_s: float = 120.0) -> None:
        try:
            status = self.client.describe_table(TableName=REGISTRY)["Table"]["TableStatus"]
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            self.client.create_table(
                TableName=REGISTRY, BillingMode="PAY_PER_REQUEST", Tags=self.tags()[:1],
                KeySchema=[{"AttributeName": "tableName", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "tableName", "AttributeType": "S"}])
            status = "CREATING"
        deadline = time.monotonic() + timeout_s
        while status != "ACTIVE":
            if time.monotonic() > deadline:
                raise BenchError(f"the ownership registry table {REGISTRY} was not ACTIVE "
                                 f"within {timeout_s:.0f}s")
            time.sleep(0.5)
            status = self.client.describe_table(TableName=REGISTRY)["Table"]["TableStatus"]
