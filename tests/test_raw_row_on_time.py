"""A raw row of a request without schedule lag (formatted with its latency once) is the row
the general format gives."""

from __future__ import annotations

import random

from ddbbench.execute import Result
from ddbbench.recorder import _ROW, _row


def general(pattern: str, r: Result) -> str:
    lat, lag = r.latency_ns, r.schedule_lag_ns
    return _ROW % (r.start_unix_ns // 1000, pattern, (lat + lag) / 1000, lat / 1000, lag / 1000, r.outcome,
                   r.error_code, r.retries, r.capacity, r.index_capacity, r.items, r.response_bytes,
                   r.items_written, r.bytes_written)


def test_rows_with_and_without_lag_are_the_general_format() -> None:
    rng = random.Random(4)
    latencies = [0, 1, 499, 500, 999, 1000, 1499, 1500, 2500, 10**9 + 1]
    latencies += [rng.randint(1, 10**10) for _ in range(3000)]
    for lat in latencies:
        for lag in (0, 0, 1, rng.randint(1, 10**8)):
            r = Result(1_700_000_000 * 10**9 + lat, lat, rng.choice(["ok", "throttled"]), "", 1, 0.5, 1, 2,
                       649, lag, (), 1, 30)
            assert _row("get_conversation", r) == general("get_conversation", r)
    assert _row("p", Result(0, 1234, "ok")).split(",")[2:5] == ["1.234", "1.234", "0.000"]
