"""Sending one call and measuring it: latency in nanoseconds, outcome class, capacity.

The timer brackets exactly the SDK calls (signing, serialising, network, parsing and any SDK
retries; a chain's calls and a batch's re-sent rounds with their back-off), not the accounting
of the responses; the retry count is recorded so retried requests can be told apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from datagen.itemsize import item_size, value_size
from ddbbench.designs.base import Call
from ddbbench.facts import OUTCOMES as OUTCOMES  # re-exported: the classes classify_error returns
from ddbbench.facts import THROTTLE_CODES
from ddbbench.lean.client import DATA_PLANE, LeanClient


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a setattr call per field
class Result:
    """One request. ``latency_ns`` is the SDK call alone (service time as the client sees it);
    ``schedule_lag_ns`` is how late it started against its intended start (open model), so
    ``response_ns`` (their sum) is the latency a user arriving on schedule experienced."""

    start_unix_ns: int
    latency_ns: int
    outcome: str
    error_code: str = ""
    retries: int = 0
    capacity: float = 0.0  # consumed capacity units, base table
    index_capacity: float = 0.0  # consumed capacity units, all indexes (GSIs and LSIs)
    items: int = 0
    response_bytes: int = 0
    schedule_lag_ns: int = 0
    # Units per table and index: ("Table", u), ("Table/Index", u) pairs, in response order
    # (a tuple: cheaper than a dict on the hot path; the recorder sums them per name).
    capacity_by: tuple[tuple[str, float], ...] = ()
    items_written: int = 0  # items put, updated or deleted by the successful calls
    bytes_written: int = 0  # their request size by DynamoDB's sizing rules (see ``written``)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def response_ns(self) -> int:
        return self.latency_ns + self.schedule_lag_ns


def execute(client: Any, call: Call, intended_perf_ns: int | None = None) -> Result:
    """Send ``call`` and every call it chains to; ``intended_perf_ns`` (perf_counter_ns) is
    its scheduled start, if any. One Result for the logical operation: the time of the whole
    chain, its capacity summed, the first failure (which ends the chain) as its outcome."""
    if call.then is None and type(client) is LeanClient and call.operation in _LEAN_SINGLE:
        return _execute_lean_read(client, call, intended_perf_ns)
    start_unix = _time_ns()
    t0 = _perf_ns()
    lag = 0 if intended_perf_ns is None else max(0, t0 - intended_perf_ns)
    total = Result(start_unix, 0, "ok", "", 0, 0.0, 0.0, 0, 0, lag)
    # The lean client takes the operation's name and the arguments as they are: no keyword
    # unpacking into a per-method wrapper that packs them again (a few us per request).
    lean = client.call if type(client) is LeanClient else None
    done: list[tuple[Call, dict[str, Any]]] = []  # accounted once the timer has stopped
    step: Call | None = call
    try:
        while step is not None:
            operation = step.operation
            if lean is not None and operation in DATA_PLANE:
                resp = lean(DATA_PLANE[operation], step.kwargs)
            else:
                resp = getattr(client, operation)(**step.kwargs)
            if operation in _BATCH_OPERATIONS:
                resp = _complete_batch(total, getattr(client, operation), operation, resp)
            done.append((step, resp))
            if _unprocessed(total, resp):
                break
            step = step.then(resp) if step.then is not None else None
    except _FAILURES as exc:
        _failed(total, exc)
    total.latency_ns = _perf_ns() - t0
    for step, resp in done:
        _add(total, resp, step.counts_items)
        if step.operation in WRITE_OPERATIONS:
            items, size = written(step.operation, step.kwargs, resp)
            total.items_written += items
            total.bytes_written += size
    return total


def _execute_lean_read(client: LeanClient, call: Call, intended_perf_ns: int | None) -> Result:
    """``execute`` of a one-step read or query with the lean client (most requests): the same
    Result, without the chain's loop and with ``_add``'s accounting of one response inlined,
    a few microseconds less on the per-request path."""
    start_unix = _time_ns()
    t0 = _perf_ns()
    lag = 0 if intended_perf_ns is None else max(0, t0 - intended_perf_ns)
    try:
        resp = client.call(_LEAN_SINGLE[call.operation], call.kwargs)
    except _FAILURES as exc:
        total = Result(start_unix, 0, "ok", "", 0, 0.0, 0.0, 0, 0, lag)
        _failed(total, exc)
        total.latency_ns = _perf_ns() - t0
        return total
    latency = _perf_ns() - t0
    meta = resp.get("ResponseMetadata", _NONE)
    cc = resp.get("ConsumedCapacity")
    table_cu = index_cu = 0.0
    by_name: CapacityPairs = ()
    if cc is not None:
        if type(cc) is dict and "Table" in cc and _INDEX_KEYS[0] not in cc and _INDEX_KEYS[1] not in cc:
            units = cc["Table"].get("CapacityUnits", 0.0)  # consumed's one-table case
            table_cu, by_name = 0.0 + units, ((cc.get("TableName", "?"), units),)
        else:
            table, index, by_name = consumed(cc)
            table_cu, index_cu = 0.0 + table, 0.0 + index
    items = 0
    if call.counts_items:
        if "Responses" in resp:
            items = sum(len(v) for v in resp["Responses"].values())
        else:
            items = 0 + resp.get("Count", 1 if "Item" in resp or "Attributes" in resp else 0)
    length = meta.get("HTTPHeaders", _NONE).get("content-length", "0")
    total = Result(start_unix, latency, "ok", "", 0 + meta.get("RetryAttempts", 0), table_cu, index_cu,
                   items, int(length) if length.isdigit() else 0, lag, by_name)
    if resp.get("UnprocessedKeys"):
        total.outcome, total.error_code = "throttled", "UnprocessedKeys"
    if resp.get("UnprocessedItems"):
        total.outcome, total.error_code = "throttled", "UnprocessedItems"
    return total


def _failed(total: Result, exc: Exception) -> None:
    """A failed call's outcome, error code and retries into ``total``."""
    if isinstance(exc, botocore.exceptions.ClientError):
        meta = exc.response.get("ResponseMetadata", {})
        total.error_code = exc.response.get("Error", {}).get("Code", "Unknown")
        total.outcome = classify_error(total.error_code, meta.get("HTTPStatusCode", 0))
        total.retries += meta.get("RetryAttempts", 0)
    else:
        total.outcome, total.error_code = "connection", type(exc).__name__


_time_ns = time.time_ns
_perf_ns = time.perf_counter_ns
_FAILURES = (botocore.exceptions.ClientError, botocore.exceptions.ConnectionError,
             botocore.exceptions.HTTPClientError)
_BATCH_OPERATIONS = frozenset({"batch_get_item", "batch_write_item"})


def _complete_batch(total: Result, method: Any, operation: str, resp: dict[str, Any]) -> dict[str, Any]:
    """A batch call's response once its unprocessed keys or items are re-sent (rounds counted
    as retries)."""
    if operation == "batch_get_item":
        resp, extra_rounds = _complete_batch_get(method, resp)
    else:
        resp, extra_rounds = _complete_batch_write(method, resp)
    total.retries += extra_rounds
    return resp


MAX_BATCH_ROUNDS = 8


def _complete_batch_get(method: Any, resp: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Re-request UnprocessedKeys as an application must; one merged response, extra rounds.

    The timer covers every round: the caller waits for all of them.
    """
    def add_items(merged: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
        responses = {t: merged.get("Responses", {}).get(t, []) + items
                     for t, items in more.get("Responses", {}).items()}
        return {**merged, "Responses": {**merged.get("Responses", {}), **responses}}

    return _retry_unprocessed(method, resp, "UnprocessedKeys", add_items)


def _complete_batch_write(method: Any, resp: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Re-send UnprocessedItems with exponential backoff, as an application must; the merged
    response (capacity of every round) and the number of extra rounds. Items still
    unprocessed after MAX_BATCH_ROUNDS make the operation "throttled" (see ``_add``)."""
    return _retry_unprocessed(method, resp, "UnprocessedItems", lambda merged, _more: merged)


def _retry_unprocessed(method: Any, resp: dict[str, Any], key: str,
                       merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
                       ) -> tuple[dict[str, Any], int]:
    """The batch calls' shared loop: re-send what ``key`` (UnprocessedKeys or UnprocessedItems)
    left, backing off exponentially, at most MAX_BATCH_ROUNDS times; ``merge`` adds a round's
    answer to the merged response, whose capacity is every round's."""
    rounds = 0
    merged = resp
    while merged.get(key) and rounds < MAX_BATCH_ROUNDS:
        rounds += 1
        time.sleep(min(0.05 * 2 ** (rounds - 1), 1.0))  # gevent-patched under Locust
        more = method(RequestItems=merged[key], ReturnConsumedCapacity="INDEXES")
        merged = {**merge(merged, more), key: more.get(key, {}),
                  "ConsumedCapacity": _as_list(merged.get("ConsumedCapacity"))
                  + _as_list(more.get("ConsumedCapacity"))}
    return merged, rounds


def _as_list(cc: Any) -> list[Any]:
    return [] if not cc else cc if isinstance(cc, list) else [cc]


def classify_error(code: str, http_status: int) -> str:
    if code in THROTTLE_CODES:
        return "throttled"
    if code == "ConditionalCheckFailedException":
        return "conditional_check_failed"
    if code == "ValidationException":
        return "validation"
    if http_status >= 500:
        return "server_error"
    return "client_error"


def _add(total: Result, resp: dict[str, Any], counts_items: bool) -> None:
    """Account one successful response of a chain into its operation's Result (its outcome:
    ``_unprocessed``)."""
    meta = resp.get("ResponseMetadata", _NONE)
    cc = resp.get("ConsumedCapacity")
    if cc is not None:
        table_cu, index_cu, by_name = consumed(cc)
        total.capacity += table_cu
        total.index_capacity += index_cu
        if by_name:
            total.capacity_by += by_name
    total.retries += meta.get("RetryAttempts", 0)
    if counts_items:
        if "Responses" in resp:
            total.items += sum(len(v) for v in resp["Responses"].values())
        else:
            total.items += resp.get("Count", 1 if "Item" in resp or "Attributes" in resp else 0)
    length = meta.get("HTTPHeaders", _NONE).get("content-length", "0")
    total.response_bytes += int(length) if length.isdigit() else 0


def _unprocessed(total: Result, resp: dict[str, Any]) -> bool:
    """Keys or items still unprocessed after every round: the read or write did not complete
    (throttling), which ``total``'s outcome says; True ends a chain there."""
    if resp.get("UnprocessedItems"):
        total.outcome, total.error_code = "throttled", "UnprocessedItems"
        return True
    if resp.get("UnprocessedKeys"):
        total.outcome, total.error_code = "throttled", "UnprocessedKeys"
        return True
    return False


_NONE: dict[str, Any] = {}  # a default for lookups, never written


def consumed(cc: dict[str, Any] | list[dict[str, Any]] | None) -> tuple[float, float, CapacityPairs]:
    """(base table units, index units, per-name pairs) from a ConsumedCapacity block or list
    (ReturnConsumedCapacity=INDEXES; under TOTAL a table's units include its indexes).
    Names: "Table" for a base table, "Table/Index" for an index (as ``ddbbench.runformat``)."""
    if not cc:
        return 0.0, 0.0, ()
    if type(cc) is dict and "Table" in cc and _INDEX_KEYS[0] not in cc and _INDEX_KEYS[1] not in cc:
        # One table, no index (GetItem and most writes): what the loop below gives, directly.
        units = cc["Table"].get("CapacityUnits", 0.0)
        return units, 0.0, ((cc.get("TableName", "?"), units),)
    blocks = cc if isinstance(cc, list) else [cc]
    table = index = 0.0
    pairs: list[tuple[str, float]] = []
    for block in blocks:
        name = block.get("TableName", "?")
        if "Table" in block:
            units = block["Table"].get("CapacityUnits", 0.0)
            table += units
            pairs.append((name, units))
        elif not any(k in block for k in _INDEX_KEYS):
            units = block.get("CapacityUnits", 0.0)  # TOTAL mode: no breakdown given
            table += units
            pairs.append((name, units))
        for key in _INDEX_KEYS:
            for ix, used in block.get(key, {}).items():
                units = used.get("CapacityUnits", 0.0)
                index += units
                pairs.append((f"{name}/{ix}", units))
    return table, index, tuple(pairs)


CapacityPairs = tuple[tuple[str, float], ...]
_INDEX_KEYS = ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
WRITE_OPERATIONS = frozenset({"put_item", "update_item", "delete_item", "batch_write_item",
                              "transact_write_items"})
# One-call operations the lean client sends that neither write nor complete a batch: their
# Result is one response's accounting (``_execute_lean_read``).
_LEAN_SINGLE = {op: wire for op, wire in DATA_PLANE.items()
                if op not in WRITE_OPERATIONS and op not in _BATCH_OPERATIONS}


def written(operation: str, kwargs: dict[str, Any], resp: dict[str, Any]) -> tuple[int, int]:
    """(items, bytes) one successful write call sent, by DynamoDB's item sizing rules.

    Put: the item's size. Delete: the key's. Update: the key plus the values the update
    expression sets (ExpressionAttributeValues), not the resulting item, which the request does
    not carry: an append's figure is what it added. BatchWriteItem: its requests less those
    returned as UnprocessedItems. TransactWriteItems: its Put, Update and Delete parts.
    """
    if operation == "batch_write_item":
        items, size = _batch_written(kwargs.get("RequestItems", {}))
        left, left_size = _batch_written(resp.get("UnprocessedItems") or {})
        return items - left, size - left_size
    if operation == "transact_write_items":
        parts = [_written_one(op, part) for t in kwargs.get("TransactItems", ())
                 for op, part in t.items() if op != "ConditionCheck"]
        return len(parts), sum(parts)
    return 1, _written_one(_TRANSACT_NAMES[operation], kwargs)


_TRANSACT_NAMES = {"put_item": "Put", "update_item": "Update", "delete_item": "Delete"}


def _written_one(kind: str, kwargs: dict[str, Any]) -> int:
    if kind == "Put":
        return item_size(kwargs.get("Item", {}))
    size = item_size(kwargs.get("Key", {}))
    if kind == "Update":
        size += sum(value_size(v) for v in kwargs.get("ExpressionAttributeValues", {}).values())
    return size


def _batch_written(request_items: dict[str, list[dict[str, Any]]]) -> tuple[int, int]:
    items = size = 0
    for requests in request_items.values():
        for req in requests:
            items += 1
            if "PutRequest" in req:
                size += item_size(req["PutRequest"].get("Item", {}))
            else:
                size += item_size(req.get("DeleteRequest", {}).get("Key", {}))
    return items, size
