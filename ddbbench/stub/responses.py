"""The stub's DynamoDB answers: small fixed items (the requested key echoed) and capacity.

GetItem, Query, Scan, PutItem, UpdateItem, DeleteItem, BatchGetItem, BatchWriteItem and
ListTables answer with plausible bodies and, when the request asks for it, a plausible
``ConsumedCapacity``; any other operation answers ``{}``.

Example::

    Responder().body("GetItem", {"TableName": "t", "Key": {"pk": {"S": "a"}}})
    # b'{"Item":{...,"pk":{"S":"a"}}}'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_ITEM: dict[str, Any] = {  # the shape of the seed design's conversation item, kept small
    "conversationId": {"S": "00000000-0000-4000-8000-000000000001"},
    "candidateId": {"S": "00000000-0000-4000-8000-0000000000c1"},
    "jobId": {"S": "00000000-0000-4000-8000-0000000000a1"},
    "status": {"S": "ONGOING"},
    "lastUpdated": {"S": "2026-01-01T00:00:01.000Z"},
    "messages": {"L": [
        {"M": {"sender": {"S": "system"}, "timestamp": {"S": "2026-01-01T00:00:00.000Z"},
               "content": {"S": "Hello, are you available for a short call?"}}},
        {"M": {"sender": {"S": "candidate"}, "timestamp": {"S": "2026-01-01T00:00:01.000Z"},
               "content": {"S": "Yes, tomorrow morning works."}}},
    ]},
}
_QUERY_ITEMS: list[dict[str, Any]] = [
    _ITEM, {**_ITEM, "conversationId": {"S": "00000000-0000-4000-8000-000000000002"}}]
_SINGLE_TABLE_OPS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"})
_RETURN_ITEM_VALUES = frozenset({"ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"})
_CAPACITY_MODES = ("INDEXES", "TOTAL")
_MEMO_MAX = 4096  # cached response bodies; bounded because table/index names come from requests


def dumps(obj: object) -> bytes:
    """Compact JSON bytes, as DynamoDB sends them."""
    return json.dumps(obj, separators=(",", ":")).encode()


def _capacity(table: str, mode: str, units: float, index: str | None = None) -> dict[str, Any]:
    """A ConsumedCapacity entry: TOTAL gives the sum, INDEXES adds the table/GSI breakdown."""
    if mode != "INDEXES":
        return {"TableName": table, "CapacityUnits": units}
    if index:  # a query on an index reads the index, not the base table
        return {"TableName": table, "CapacityUnits": units, "Table": {"CapacityUnits": 0.0},
                "GlobalSecondaryIndexes": {index: {"CapacityUnits": units}}}
    return {"TableName": table, "CapacityUnits": units, "Table": {"CapacityUnits": units}}


def _with_key(key: object) -> dict[str, Any]:
    return {**_ITEM, **key} if isinstance(key, dict) else dict(_ITEM)


def _batch_get(req: Mapping[str, Any], mode: str | None) -> dict[str, Any]:
    responses: dict[str, list[dict[str, Any]]] = {}
    used: list[dict[str, Any]] = []
    for table, spec in (req.get("RequestItems") or {}).items():
        keys = (spec.get("Keys") or []) if isinstance(spec, dict) else []
        responses[table] = [_with_key(k) for k in keys]
        used.append(_capacity(table, mode or "", 1.0 * len(keys)))
    out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": {}}
    if mode in _CAPACITY_MODES:
        out["ConsumedCapacity"] = used  # a list for batch operations, one entry per table
    return out


def _batch_write(req: Mapping[str, Any], mode: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"UnprocessedItems": {}}
    if mode in _CAPACITY_MODES:
        out["ConsumedCapacity"] = [_capacity(t, mode, 1.0 * len(w) if isinstance(w, list) else 1.0)
                                   for t, w in (req.get("RequestItems") or {}).items()]
    return out


def _fixed(op: str, table: str, index: str, mode: object) -> dict[str, Any]:
    """The answer of an operation that does not echo the request."""
    out: dict[str, Any]
    if op in ("Query", "Scan"):
        out = {"Items": _QUERY_ITEMS, "Count": 2, "ScannedCount": 2}
    elif op == "ListTables":
        out = {"TableNames": []}
    else:
        out = {}
    if op in _SINGLE_TABLE_OPS and mode in _CAPACITY_MODES:
        indexed = op in ("Query", "Scan") and bool(index)
        out["ConsumedCapacity"] = _capacity(table, str(mode), 0.5 if indexed else 1.0,
                                            index if indexed else None)
    return out


class Responder:
    """Turns a parsed DynamoDB request into a response body; caches bodies that do not echo."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str, str, str], bytes] = {}

    def body(self, op: str, req: Mapping[str, Any]) -> bytes:
        mode = req.get("ReturnConsumedCapacity")
        table = req.get("TableName") if isinstance(req.get("TableName"), str) else ""
        if op == "GetItem":
            out: dict[str, Any] = {"Item": _with_key(req.get("Key"))}
        elif op in ("PutItem", "UpdateItem", "DeleteItem") and req.get("ReturnValues") in _RETURN_ITEM_VALUES:
            out = {"Attributes": _with_key(req.get("Key", req.get("Item")))}  # PutItem has no Key
        elif op == "BatchGetItem":
            return dumps(_batch_get(req, mode))
        elif op == "BatchWriteItem":
            return dumps(_batch_write(req, mode))
        else:
            index = req.get("IndexName") if isinstance(req.get("IndexName"), str) else ""
            return self._memoised(op, str(table), str(index), mode)
        if mode in _CAPACITY_MODES:
            out["ConsumedCapacity"] = _capacity(str(table), mode, 1.0)
        return dumps(out)

    def _memoised(self, op: str, table: str, index: str, mode: object) -> bytes:
        # The answer depends only on (op, table, index, mode): encode it once.
        memo_key = (op, table, index, mode if isinstance(mode, str) else "")
        cached = self._memo.get(memo_key)
        if cached is None:
            cached = dumps(_fixed(op, table, index, mode))
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[memo_key] = cached
        return cached
