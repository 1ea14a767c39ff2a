"""Does an existing table have the schema the key design needs?

Before a load into kept tables and before a replay, every table the design uses is described
(DescribeTable: no item is read) and compared with the design's ``table_specs()``: key schema,
the types of the key attributes, and the global secondary indexes (names, keys, projection).
An index the design does not define counts too: every write would also update it, so the
measured write costs would not be the design's. All differences make one error.

Example::

    >>> spec = {"TableName": "T", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    ...         "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}
    >>> table_differences({**spec, "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}]},
    ...                   spec)
    ['T: attribute id is N, the design needs S']
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from ddbbench.errors import ConfigError


class SchemaMismatch(ConfigError):
    """Existing tables whose schema differs from the design's (exit code 2)."""


def _keys(key_schema: list[dict[str, str]]) -> str:
    return "(" + ", ".join(f"{k['AttributeName']} {k['KeyType']}" for k in key_schema) + ")"


def _projection(p: dict[str, Any]) -> str:
    extra = sorted(p.get("NonKeyAttributes", []))
    return p.get("ProjectionType", "ALL") + (f" {extra}" if extra else "")


def table_differences(described: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """How a described table (DescribeTable's ``Table``) differs from a CreateTable spec."""
    name = spec["TableName"]
    out = []
    if _keys(described["KeySchema"]) != _keys(spec["KeySchema"]):
        out.append(f"{name}: key {_keys(described['KeySchema'])}, "
                   f"the design needs {_keys(spec['KeySchema'])}")
    have = {a["AttributeName"]: a["AttributeType"] for a in described.get("AttributeDefinitions", [])}
    for attr in spec["AttributeDefinitions"]:
        got = have.get(attr["AttributeName"])
        if got is not None and got != attr["AttributeType"]:
            out.append(f"{name}: attribute {attr['AttributeName']} is {got}, "
                       f"the design needs {attr['AttributeType']}")
    out += _index_differences(name, described.get("GlobalSecondaryIndexes") or [],
                              spec.get("GlobalSecondaryIndexes") or [])
    if described.get("LocalSecondaryIndexes"):
        lsis = ", ".join(i["IndexName"] for i in described["LocalSecondaryIndexes"])
        out.append(f"{name}: has local secondary index(es) {lsis} the design does not define")
    return out


def _index_differences(table: str, have: list[dict[str, Any]], want: list[dict[str, Any]]) -> list[str]:
    got = {i["IndexName"]: i for i in have}
    out = []
    for gsi in want:
        name = gsi["IndexName"]
        if name not in got:
            out.append(f"{table}: index {name} is missing")
            continue
        if _keys(got[name]["KeySchema"]) != _keys(gsi["KeySchema"]):
            out.append(f"{table}: index {name} key {_keys(got[name]['KeySchema'])}, "
                       f"the design needs {_keys(gsi['KeySchema'])}")
        if _projection(got[name].get("Projection", {})) != _projection(gsi["Projection"]):
            out.append(f"{table}: index {name} projects {_projection(got[name].get('Projection', {}))}, "
                       f"the design needs {_projection(gsi['Projection'])}")
    wanted = {g["IndexName"] for g in want}
    out += [f"{table}: has index {n} the design does not define (every write would update it)"
            for n in got if n not in wanted]
    return out


def check_schemas(client: Any, specs: list[dict[str, Any]], design: str) -> None:
    """Raise one ``SchemaMismatch`` listing every difference (a table that does not exist too)."""
    out = []
    for spec in specs:
        try:
            described = client.describe_table(TableName=spec["TableName"])["Table"]
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            out.append(f"{spec['TableName']}: does not exist (load it first: `ddbbench load`)")
            continue
        out += table_differences(described, spec)
    if out:
        raise SchemaMismatch(f"the tables do not match key design {design}, nothing was written or "
                             f"replayed: {'; '.join(out)}; use other tables (--table-prefix) or delete "
                             "these (`ddbbench tables delete`, owned tables only)")
