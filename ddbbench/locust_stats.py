"""Locust's own statistics of the measured requests, a recorder batch at a time.

Locust counts a request when its request event fires: its runner's listener logs it into
``RequestStats`` (two ``StatsEntry.log`` calls, a rounding, several dictionary updates). That
costs about 6 us per request fired back to back, and two to three times as much fired right
after each response, when a socket read has left the caches cold: with the lean client, more
than all of ddbbench's own accounting of a request. So the events of a batch are delivered
together (``ReplayContext.on_measured``), and when Locust's own listener is the event's only one
(a Locust process as ddbbench runs it) the batch goes into Locust's statistics the way Locust's
master adds a worker's report: one ``StatsEntry`` per pattern built from the batch, merged with
``StatsEntry.extend``. The counts, response-time buckets, sums, extremes and content lengths
are those of firing the events; a request is counted in the second it completed (Locust's
listener: the second its event fired). Failures go through Locust's ``log_error`` as the
listener does. With any other listener on the event (a plugin of the user's), every request's
event is fired, in order, with the same arguments as ever.

Nothing here imports Locust: the statistics' classes come from the objects handed in, so the
module loads (and is tested) without gevent's monkey patching.
"""

from __future__ import annotations

import sys
from typing import Any

from ddbbench.execute import Result

METHOD = "dynamodb"  # Locust's request_type of every ddbbench request
# Locust's own listener (locust/runners.py, Runner.__init__): the one ``extend`` stands in for.
_LOCUST_LISTENER = ("locust.runners", "Runner.__init__.<locals>.on_request")


class DynamoDBError(Exception):
    """A failed request as Locust sees it: "<outcome>: <error code>"."""


def deliver(environment: Any, results: list[tuple[str, Result]]) -> None:
    """Locust's statistics of ``results`` (measured requests, in recording order)."""
    # EventHook keeps its listeners in ``_handlers`` (Locust 2.x, pinned below 3): no public
    # accessor; test_locust_stats runs against the installed Locust, so a change shows there.
    if only_locust_listens(environment.events.request._handlers):
        add_to_stats(environment.stats, results)
    else:
        fire_events(environment.events.request, results)


def only_locust_listens(handlers: list[Any]) -> bool:
    """True when Locust's runner's listener is the request event's one listener."""
    return bool(handlers) and all(
        (getattr(h, "__module__", ""), getattr(h, "__qualname__", "")) == _LOCUST_LISTENER for h in handlers)


def fire_events(event: Any, results: list[tuple[str, Result]]) -> None:
    """Locust's request event of each of ``results``."""
    fire = event.fire
    for pattern, r in results:
        fire(request_type=METHOD, name=pattern, response_time=r.response_ns / 1e6,
             response_length=r.response_bytes, context={},
             exception=None if r.outcome == "ok" else _error(r))


def add_to_stats(stats: Any, results: list[tuple[str, Result]]) -> None:
    """What Locust's listener would log for each of ``results``, into ``stats`` (its
    ``RequestStats``) a pattern at a time."""
    entry_class = type(stats.total)
    # Locust's response-time rounding as it stands (ddbbench replaces it: locust_buckets).
    bucket = sys.modules[entry_class.__module__].bucket_response_time
    parts: dict[str, Any] = {}
    for pattern, r in results:
        part = parts.get(pattern)
        if part is None:
            part = parts[pattern] = entry_class(stats, pattern, METHOD)
            part.min_response_time = None
            part.start_time = float("inf")  # extend keeps the earlier of the two
        response_time = r.response_ns / 1e6
        done_s = (r.start_unix_ns + r.latency_ns) / 1e9
        part.num_requests += 1
        part.num_reqs_per_sec[int(done_s)] += 1
        if part.last_request_timestamp is None or done_s > part.last_request_timestamp:
            part.last_request_timestamp = done_s
        part.start_time = min(part.start_time, done_s)
        part.total_response_time += response_time
        if part.min_response_time is None or response_time < part.min_response_time:
            part.min_response_time = response_time
        if response_time > part.max_response_time:
            part.max_response_time = response_time
        part.response_times[bucket(response_time)] += 1
        part.total_content_length += r.response_bytes
    for pattern, part in parts.items():
        stats.total.extend(part)
        stats.entries[(pattern, METHOD)].extend(part)
    for pattern, r in results:
        if r.outcome != "ok":
            stats.log_error(METHOD, pattern, _error(r))


def _error(r: Result) -> DynamoDBError:
    return DynamoDBError(f"{r.outcome}: {r.error_code}")

