"""Sending one call and measuring it: latency in nanoseconds, outcome class, capacity.

The timer brackets exactly the SDK call (signing, serialising, network, parsing and any SDK
retries); the retry count is recorded so retried requests can be told apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from ddbbench.design import Call

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
    """Send ``call``; ``intended_perf_ns`` (perf_counter_ns) is its scheduled start, if any."""
    method = getattr(client, call.operation)
    start_unix = time.time_ns()
    t0 = time.perf_counter_ns()
    lag = 0 if intended_perf_ns is None else max(0, t0 - intended_perf_ns)
    try:
        resp = method(**call.kwargs)
        extra_rounds = 0
        if call.operation == "batch_get_item":
            resp, extra_rounds = _complete_batch_get(method, resp)
    except botocore.exceptions.ClientError as exc:
        latency = time.perf_counter_ns() - t0
        meta = exc.response.get("ResponseMetadata", {})
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        return Result(start_unix, latency, classify_error(code, meta.get("HTTPStatusCode", 0)),
                      code, meta.get("RetryAttempts", 0), schedule_lag_ns=lag)
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
        latency = time.perf_counter_ns() - t0
        return Result(start_unix, latency, "connection", type(exc).__name__, schedule_lag_ns=lag)
    latency = time.perf_counter_ns() - t0
    return _success(start_unix, latency, resp, extra_rounds, lag)


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


def _success(start_unix: int, latency: int, resp: dict[str, Any], extra_rounds: int = 0,
             lag: int = 0) -> Result:
    meta = resp.get("ResponseMetadata", {})
    table_cu, index_cu = consumed(resp.get("ConsumedCapacity"))
    if "Responses" in resp:
        items = sum(len(v) for v in resp["Responses"].values())
    else:
        items = resp.get("Count", 1 if "Item" in resp or "Attributes" in resp else 0)
    length = meta.get("HTTPHeaders", {}).get("content-length", "0")
    # Keys still unprocessed after every round: the read did not complete (throttling).
    outcome, code = ("throttled", "UnprocessedKeys") if resp.get("UnprocessedKeys") else ("ok", "")
    return Result(start_unix, latency, outcome, code, meta.get("RetryAttempts", 0) + extra_rounds,
                  table_cu, index_cu, items, int(length) if length.isdigit() else 0, lag)


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
