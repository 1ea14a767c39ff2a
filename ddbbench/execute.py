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


@dataclass(frozen=True)
class Result:
    start_unix_ns: int
    latency_ns: int
    outcome: str
    error_code: str = ""
    retries: int = 0
    capacity: float = 0.0  # consumed capacity units, base table
    index_capacity: float = 0.0  # consumed capacity units, all GSIs
    items: int = 0
    response_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def execute(client: Any, call: Call) -> Result:
    method = getattr(client, call.operation)
    start_unix = time.time_ns()
    t0 = time.perf_counter_ns()
    try:
        resp = method(**call.kwargs)
    except botocore.exceptions.ClientError as exc:
        latency = time.perf_counter_ns() - t0
        meta = exc.response.get("ResponseMetadata", {})
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        return Result(start_unix, latency, classify_error(code, meta.get("HTTPStatusCode", 0)),
                      code, meta.get("RetryAttempts", 0))
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
        latency = time.perf_counter_ns() - t0
        return Result(start_unix, latency, "connection", type(exc).__name__)
    latency = time.perf_counter_ns() - t0
    return _success(start_unix, latency, resp)


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


def _success(start_unix: int, latency: int, resp: dict[str, Any]) -> Result:
    meta = resp.get("ResponseMetadata", {})
    table_cu, index_cu = consumed(resp.get("ConsumedCapacity"))
    items = resp.get("Count", 1 if "Item" in resp or "Attributes" in resp else 0)
    length = meta.get("HTTPHeaders", {}).get("content-length", "0")
    return Result(start_unix, latency, "ok", "", meta.get("RetryAttempts", 0), table_cu, index_cu,
                  items, int(length) if length.isdigit() else 0)


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
