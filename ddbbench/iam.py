"""``ddbbench iam-policy``: the least-privilege IAM policy of a scenario on its key design.

The replay's actions are not listed by hand: they are collected from the calls the design
builds for every pattern of the mix with a weight > 0 (each call chain followed to its end
with stand-in responses, so a query that fetches what a narrow index does not project shows
its BatchGetItem too), each scoped to the table or index it names. The load, set-up and
teardown actions are the loader's and the table manager's. Only ListTables, which cannot be
scoped to a table, gets the wildcard resource, in a statement of its own.

Example::

    >>> from ddbbench.scenario import Scenario
    >>> doc = iam_policy(Scenario(name="t"), "123456789012", "us-east-1")
    >>> [s["Sid"] for s in doc["Statement"]][0], [s["Sid"] for s in doc["Statement"]][-2:]
    ('Load', ['OwnershipRegistry', 'ListTables'])
"""

from __future__ import annotations

import random
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from ddbbench.designs import Call, make_design
from ddbbench.ownership import REGISTRY
from ddbbench.patterns import RequestFactory
from ddbbench.scenario import Scenario

PLACEHOLDER_ACCOUNT = "ACCOUNT_ID"
# The loader (BatchWriteItem), its spot reads (GetItem) and creating the tables it writes to,
# with their ownership tags.
LOAD_ACTIONS = ("BatchWriteItem", "CreateTable", "DescribeTable", "GetItem", "TagResource",
                "ListTagsOfResource")
TEARDOWN_ACTIONS = ("DeleteTable", "DescribeTable", "ListTagsOfResource")
# The ownership registry (ddbbench.ownership.REGISTRY): what the harness created or adopted;
# `ddbbench tables delete` deletes it once it records no table.
REGISTRY_ACTIONS = ("CreateTable", "DescribeTable", "TagResource", "PutItem", "GetItem", "DeleteItem",
                    "Scan", "DeleteTable")
UNSCOPED_ACTIONS = ("ListTables",)  # IAM cannot scope it to a table
DRAWS_PER_PATTERN = 20  # a pattern's calls vary with the keys drawn (a chain may fetch or not)
MAX_CHAIN = 50


class _AnyItem(dict[str, Any]):
    """A stand-in item: any attribute reads as a string, so a chain's next call can be built."""

    def __missing__(self, key: str) -> dict[str, Any]:
        return {"S": "x"}


def action_name(operation: str) -> str:
    """boto3's method name as the IAM action (``batch_get_item`` -> ``BatchGetItem``)."""
    return "".join(part.capitalize() for part in operation.split("_"))


def call_resources(call: Call) -> list[tuple[str, str | None]]:
    """(table, index or None) that one call touches."""
    kwargs = call.kwargs
    if "RequestItems" in kwargs:
        return [(table, None) for table in kwargs["RequestItems"]]
    return [(kwargs["TableName"], kwargs.get("IndexName"))]


def replay_calls(sc: Scenario) -> set[tuple[str, str, str | None]]:
    """(action, table, index) of every call the mix's patterns make on the scenario's design."""
    factory = RequestFactory.for_scenario(sc)
    rng = random.Random(f"{sc.dataset.seed}:iam")
    seen: set[tuple[str, str, str | None]] = set()
    for pattern, weight in sc.mix.weights().items():
        if weight <= 0:
            continue
        for _ in range(DRAWS_PER_PATTERN):
            step: Call | None = factory.make(pattern, rng)
            for _hop in range(MAX_CHAIN):
                if step is None:
                    break
                seen.update((action_name(step.operation), t, i) for t, i in call_resources(step))
                step = step.then({"Items": [_AnyItem()]}) if step.then else None
    return seen


def arn(partition: str, region: str, account: str, table: str, index: str | None = None) -> str:
    base = f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
    return base if index is None else f"{base}/index/{index}"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def iam_policy(sc: Scenario, account: str, region: str) -> dict[str, Any]:
    """The policy document (Version 2012-10-17): Load, Replay (one statement per set of
    resources taking the same actions: Replay, Replay2, ...), Teardown and ListTables
    statements, each scoped as narrowly as IAM allows."""
    part = partition_of(region)
    tables = make_design(sc.design, sc.tables).table_names()
    table_arns = [arn(part, region, account, t) for t in tables]
    # Resources that take the same actions share a statement; no resource gets another's.
    by_resource: dict[str, set[str]] = {}
    for action, table, index in replay_calls(sc):
        by_resource.setdefault(arn(part, region, account, table, index), set()).add(action)
    groups: dict[tuple[str, ...], list[str]] = {}
    for resource, actions in sorted(by_resource.items()):
        groups.setdefault(tuple(sorted(actions)), []).append(resource)
    replay = [_statement(f"Replay{k}" if k > 1 else "Replay", actions, resources)
              for k, (actions, resources) in enumerate(sorted(groups.items()), 1)]
    statements = [_statement("Load", LOAD_ACTIONS, table_arns), *replay,
                  _statement("Teardown", TEARDOWN_ACTIONS, table_arns),
                  _statement("OwnershipRegistry", REGISTRY_ACTIONS, [arn(part, region, account, REGISTRY)]),
                  _statement("ListTables", UNSCOPED_ACTIONS, ["*"])]
    return {"Version": "2012-10-17", "Statement": statements}


def _statement(sid: str, actions: Any, resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(f"dynamodb:{a}" for a in set(actions)),
            "Resource": resources}


def caller_account(region: str, profile: str | None = None) -> str | None:
    """The account of the credentials at hand (STS GetCallerIdentity), or None when there are
    none or STS cannot be reached within seconds."""
    session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
    if session.get_credentials() is None:
        return None
    quick = botocore.config.Config(region_name=region, connect_timeout=3, read_timeout=5,
                                   retries={"mode": "standard", "total_max_attempts": 1})
    try:
        return str(session.client("sts", config=quick).get_caller_identity()["Account"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return None
