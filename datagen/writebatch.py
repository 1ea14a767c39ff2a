"""One BatchWriteItem batch written until nothing is unprocessed (datagen/loader.py's unit of work).

UnprocessedItems and throttling errors are retried with exponential backoff and full jitter;
an optional cap holds the write rate; an optional budget counts the units DynamoDB reports.
A batch that cannot be written raises ``BatchFailed`` saying how many items, per table, and why.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from datagen.chunks import Batch
from datagen.ratelimit import WriteCap
from ddbbench.budget import UnitBudget, units_of
from ddbbench.errors import BenchError
from ddbbench.facts import THROTTLE_CODES

# Throttling (the shared definition) and the server errors worth another batch.
RETRYABLE = THROTTLE_CODES | {"InternalServerError", "ServiceUnavailable"}
# botocore has already retried these (client.max_attempts): the target is gone, not busy.
UNREACHABLE = (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
               botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)


class BatchFailed(BenchError):
    """Items of one batch that could not be written, per table, and why."""

    def __init__(self, reason: str, failed: Counter[str], retried: Counter[str]) -> None:
        tables = ", ".join(sorted(failed))
        super().__init__(f"{sum(failed.values())} items into {tables} not written: {reason}")
        self.reason = reason
        self.failed = failed
        self.retried = retried


def write_batch(client: Any, items: Batch, max_rounds: int = 12, base_delay_s: float = 0.05,
                sleep: Callable[[float], None] = time.sleep, cap: WriteCap | None = None,
                budget: UnitBudget | None = None) -> Counter[str]:
    """Write one batch until nothing is unprocessed; return the item writes retried, per
    table. Raises ``BatchFailed`` (with what was not written) when it cannot. With a
    ``budget`` the units DynamoDB reports (ConsumedCapacity, index writes included) count
    against it."""
    pending: dict[str, list[dict[str, Any]]] = {}
    for table, item in items:
        pending.setdefault(table, []).append({"PutRequest": {"Item": item}})
    retried: Counter[str] = Counter()
    for attempt in range(max_rounds):
        if attempt:
            retried.update(_counts(pending))
            # Full jitter (AWS architecture blog): spreads retries of parallel writers apart.
            sleep(random.uniform(0, min(5.0, base_delay_s * 2 ** (attempt - 1))))
        if cap is not None:
            cap.acquire(r["PutRequest"]["Item"] for reqs in pending.values() for r in reqs)
        pending = _send(client, pending, retried, budget)
        if not pending:
            return retried
    raise BatchFailed(f"still unprocessed after {max_rounds} rounds of BatchWriteItem; the table "
                      "is throttling: lower loader.workers or cap the rate (loader.max_wcu_per_s)",
                      _counts(pending), retried)


def _send(client: Any, pending: dict[str, list[dict[str, Any]]], retried: Counter[str],
          budget: UnitBudget | None) -> dict[str, list[dict[str, Any]]]:
    """One BatchWriteItem round: what is left to send (all of it after a retryable error)."""
    extra = {"ReturnConsumedCapacity": "INDEXES"} if budget is not None else {}
    try:
        resp = client.batch_write_item(RequestItems=pending, **extra)
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        if err.get("Code") not in RETRYABLE:
            raise BatchFailed(f"BatchWriteItem: {err.get('Code')}: {err.get('Message')}",
                              _counts(pending), retried) from None
        return pending
    except UNREACHABLE as exc:
        raise BatchFailed(f"cannot reach DynamoDB: {exc}", _counts(pending), retried) from None
    if budget is not None:
        budget.add(units_of(resp.get("ConsumedCapacity")))
    return resp.get("UnprocessedItems") or {}


def _counts(pending: dict[str, list[Any]]) -> Counter[str]:
    return Counter({t: len(v) for t, v in pending.items() if v})
