"""botocore's standard retry mode, reused rather than re-implemented.

The lean client builds the same objects ``botocore.retries.standard.register_retry_handler``
builds for a DynamoDB client (retry conditions with the scenario's max attempts, exponential
backoff with full jitter and DynamoDB's base scales, the retry quota) and calls them the way
botocore's endpoint does, so what is retried, how long it waits and what the response's
metadata says (RetryAttempts, MaxAttemptsReached, RetryQuotaReached) are botocore's.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from botocore.retries import quota, standard

from ddbbench.lean.transport import HttpResponse

SERVICE_EVENT_NAME = "dynamodb"


class StandardRetry:
    """One per client, like botocore's handler: the retry quota is shared by its calls."""

    def __init__(self, max_attempts: int, sleep: Any = None) -> None:
        self.max_attempts = max_attempts
        adapter = standard.RetryEventAdapter()
        detector = standard.ThrottlingErrorDetector(adapter)
        self._quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
        self._handler = standard.RetryHandler(
            retry_policy=standard.RetryPolicy(
                retry_checker=standard.StandardRetryConditions(max_attempts=max_attempts),
                retry_backoff=standard.ExponentialBackoff(service_name=SERVICE_EVENT_NAME,
                                                          throttling_detector=detector)),
            retry_event_adapter=adapter, retry_quota=self._quota, service_name=SERVICE_EVENT_NAME)
        self._sleep = sleep or _sleep

    def success_needs_retry(self, response: HttpResponse) -> bool:
        """The only reason a 2xx response is retried: a DynamoDB CRC32 that does not match
        (botocore's RetryDDBChecksumError); checked here without building a retry context."""
        crc = response.headers.get("x-amz-crc32")
        return crc is not None and (zlib.crc32(response.content) & 0xFFFFFFFF) != int(crc)

    def after_attempt(self, attempt: int, operation_model: Any, response: HttpResponse | None,
                      parsed: dict[str, Any] | None, exception: Exception | None,
                      request_context: dict[str, Any]) -> bool:
        """botocore's needs-retry step: True after sleeping the backoff when the call is to
        be retried; otherwise adds the retry metadata to ``parsed`` and returns False."""
        delay = self._handler.needs_retry(
            response=None if response is None else (response, parsed), attempts=attempt,
            operation=operation_model, caught_exception=exception,
            request_dict={"context": request_context})
        if delay is None or delay is False:  # as botocore's endpoint: a delay of 0.0 still retries
            return False
        self._sleep(delay)
        return True

    def after_call(self, request_context: dict[str, Any], response: HttpResponse | None) -> None:
        """botocore's after-call step: a 2xx response gives retry quota back."""
        self._quota.release_retry_quota(request_context, response)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up per call: gevent's patch (and a test's) applies
