"""Finer response-time buckets for Locust's own statistics (console, CSV, web UI).

Locust rounds response times to whole milliseconds below 100 ms, useless against a
single-digit-millisecond goal. Its ``locust.stats.bucket_response_time`` is replaceable; this
one keeps two significant digits at every scale (0.0123 -> 0.012, 4.567 -> 4.6, 1234 -> 1200),
so the number of distinct keys stays bounded (~90 per decade). ddbbench's reported
percentiles never come from Locust: they come from its own microsecond HDR histograms.
"""

from __future__ import annotations

import math


def two_significant_digits(response_time: float) -> float:
    """
    >>> [two_significant_digits(x) for x in (0.0123, 0.5, 4.567, 98.6, 1234.0)]
    [0.012, 0.5, 4.6, 99.0, 1200.0]
    """
    if response_time <= 0:
        return 0.0
    return round(response_time, 1 - math.floor(math.log10(response_time)))
