"""Sending one call and measuring it: latency in nanoseconds, outcome class, capacity.

The timer brackets exactly the SDK call (signing, serialising, network, parsing and any SDK
retries); the retry count is recorded so retried requests can be told apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from ddbbench.designs.base import Call

THROTTLE_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException",
                  "RequestLimitExceeded"}
OUTCOMES = ("ok", "throttled", "conditional_check_failed", "validation", "client_error",
            "server_error", "connection")


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
    index_capacity: float = 0.0  # consumed capacity units, all GSIs
    items: int = 0
    response_bytes: int = 0
    schedule_lag_ns: int = 0

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
    start_unix = time.time_ns()
    t0 = time.perf_counter_ns()
    lag = 0 if intended_perf_ns is None else max(0, t0 - intended_perf_ns)
    total = Result(start_unix, 0, "ok", schedule_lag_ns=lag)
    step: Call | None = call
    try:
        while step is not None:
            method = getattr(client, step.operation)
            resp = method(**step.kwargs)
            if step.operation == "batch_get_item":
                resp, extra_rounds = _complete_batch_get(method, resp)
                total.retries += extra_rounds
            elif step.operation == "batch_write_item":
                resp, extra_rounds = _complete_batch_write(method, resp)
                total.retries += extra_rounds
            _add(total, resp, step.counts_items)
            if total.outcome != "ok":
                break
            step = step.then(resp) if step.then is not None else None
    except botocore.exceptions.ClientError as exc:
        meta = exc.response.get("ResponseMetadata", {})
        total.error_code = exc.response.get("Error", {}).get("Code", "Unknown")
        total.outcome = classify_error(total.error_code, meta.get("HTTPStatusCode", 0))
        total.retries += meta.get("RetryAttempts", 0)
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
        total.outcome, total.error_code = "connection", type(exc).__name__
    total.latency_ns = time.perf_counter_ns() - t0
    return total


MAX_BATCH_ROUNDS = 8


def _complete_batch_get(method: Any, resp: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Re-request UnprocessedKeys as an application must; one merged response, extra rounds.

    The timer covers every round: the caller waits for all of them.
    """
    rounds = 0
    merged = resp
    while merged.get("UnprocessedKeys") and rounds < MAX_BATCH_ROUNDS:
        rounds += 1
        time.sleep(min(0.05 * 2 ** (rounds - 1), 1.0))  # gevent-patched under Locust
        more = method(RequestItems=merged["UnprocessedKeys"], ReturnConsumedCapacity="INDEXES")
        responses = {t: merged.get("Responses", {}).get(t, []) + items
                     for t, items in more.get("Responses", {}).items()}
        merged = {**merged, "Responses": {**merged.get("Responses", {}), **responses},
                  "UnprocessedKeys": more.get("UnprocessedKeys", {}),
                  "ConsumedCapacity": _as_list(merged.get("ConsumedCapacity"))
                  + _as_list(more.get("ConsumedCapacity"))}
    return merged, rounds


def _complete_batch_write(method: Any, resp: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Re-send UnprocessedItems with exponential backoff, as an application must; the merged
    response (capacity of every round) and the number of extra rounds. Items still
    unprocessed after MAX_BATCH_ROUNDS make the operation "throttled" (see ``_add``)."""
    rounds = 0
    merged = resp
    while merged.get("UnprocessedItems") and rounds < MAX_BATCH_ROUNDS:
        rounds += 1
        time.sleep(min(0.05 * 2 ** (rounds - 1), 1.0))  # gevent-patched under Locust
        more = method(RequestItems=merged["UnprocessedItems"], ReturnConsumedCapacity="INDEXES")
        merged = {**merged, "UnprocessedItems": more.get("UnprocessedItems", {}),
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
    """Account one successful response of a chain into its operation's Result."""
    meta = resp.get("ResponseMetadata", {})
    table_cu, index_cu = consumed(resp.get("ConsumedCapacity"))
    total.capacity += table_cu
    total.index_capacity += index_cu
    total.retries += meta.get("RetryAttempts", 0)
    if counts_items:
        if "Responses" in resp:
            total.items += sum(len(v) for v in resp["Responses"].values())
        else:
            total.items += resp.get("Count", 1 if "Item" in resp or "Attributes" in resp else 0)
    length = meta.get("HTTPHeaders", {}).get("content-length", "0")
    total.response_bytes += int(length) if length.isdigit() else 0
    # Keys still unprocessed after every round: the read did not complete (throttling).
    if resp.get("UnprocessedKeys"):
        total.outcome, total.error_code = "throttled", "UnprocessedKeys"
    if resp.get("UnprocessedItems"):  # likewise for a batch write
        total.outcome, total.error_code = "throttled", "UnprocessedItems"


def consumed(cc: dict[str, Any] | list[dict[str, Any]] | None) -> tuple[float, float]:
    """(base table units, index units) from a ConsumedCapacity (INDEXES) block or list."""
    if not cc:
        return 0.0, 0.0
    blocks = cc if isinstance(cc, list) else [cc]
    table = index = 0.0
    for block in blocks:
        if "Table" in block:
            table += block["Table"].get("CapacityUnits", 0.0)
        elif not any(k in block for k in _INDEX_KEYS):
            table += block.get("CapacityUnits", 0.0)  # TOTAL mode: no breakdown given
        for key in _INDEX_KEYS:
            index += sum(i.get("CapacityUnits", 0.0) for i in block.get(key, {}).values())
    return table, index


_INDEX_KEYS = ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
