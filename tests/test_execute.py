"""Unit tests for sending one call and classifying its result (ddbbench/execute.py).

The client is a small stand-in: DynamoDB Local cannot produce throttling or server errors.
"""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions
import pytest

from ddbbench import execute as execute_module
from ddbbench.designs import Call
from ddbbench.execute import OUTCOMES, Result, classify_error, consumed, execute, written

GET = Call("get_item", {"TableName": "T", "Key": {"conversationId": {"S": "c1"}},
                        "ReturnConsumedCapacity": "INDEXES"})
QUERY = Call("query", {"TableName": "T", "IndexName": "ix", "KeyConditionExpression": "k = :k",
                       "ExpressionAttributeValues": {":k": {"S": "a"}}, "ReturnConsumedCapacity": "INDEXES"})
UPDATE = Call("update_item", {"TableName": "T", "Key": {"conversationId": {"S": "c1"}}})


class FakeClient:
    """Answers every operation with ``response`` or raises ``error``; records the calls."""

    def __init__(self, response: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.response = response or {}
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, kwargs))
        if self.error is not None:
            raise self.error
        return self.response

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("get_item", kwargs)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("query", kwargs)

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("update_item", kwargs)

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("put_item", kwargs)


def client_error(code: str, status: int, retries: int = 0,
                 operation: str = "GetItem") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": f"{code} happened"},
         "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retries}},
        operation)


# --- consumed ------------------------------------------------------------------------------


def test_consumed_indexes_form() -> None:
    cc = {"TableName": "T", "CapacityUnits": 3.5, "Table": {"CapacityUnits": 1.0},
          "GlobalSecondaryIndexes": {"ix1": {"CapacityUnits": 2.0}, "ix2": {"CapacityUnits": 0.5}}}
    assert consumed(cc) == (1.0, 2.5, (("T", 1.0), ("T/ix1", 2.0), ("T/ix2", 0.5)))


def test_consumed_indexes_form_with_local_index() -> None:
    cc = {"TableName": "T", "CapacityUnits": 2.0, "Table": {"CapacityUnits": 0.5},
          "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1.0}},
          "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 0.5}}}
    assert consumed(cc) == (0.5, 1.5, (("T", 0.5), ("T/gsi", 0.5), ("T/lsi", 1.0)))


def test_consumed_table_only_indexes_form() -> None:
    assert consumed({"TableName": "T", "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}}) == (
        0.5, 0.0, (("T", 0.5),))


def test_consumed_total_form() -> None:
    # TOTAL mode: one figure for the table, its indexes included (no breakdown given).
    assert consumed({"TableName": "T", "CapacityUnits": 2.0}) == (2.0, 0.0, (("T", 2.0),))


def test_consumed_index_only_block_does_not_double_count() -> None:
    # A query on a GSI: the total is all index capacity, nothing for the base table.
    cc = {"TableName": "T", "CapacityUnits": 0.5, "GlobalSecondaryIndexes": {"ix": {"CapacityUnits": 0.5}}}
    assert consumed(cc) == (0.0, 0.5, (("T/ix", 0.5),))


def test_consumed_list_of_blocks() -> None:
    blocks = [
        {"TableName": "A", "CapacityUnits": 1.5, "Table": {"CapacityUnits": 1.0},
         "GlobalSecondaryIndexes": {"ix": {"CapacityUnits": 0.5}}},
        {"TableName": "B", "CapacityUnits": 2.0},
        {"TableName": "C", "CapacityUnits": 4.0, "Table": {"CapacityUnits": 3.0},
         "GlobalSecondaryIndexes": {"ix": {"CapacityUnits": 1.0}}},
    ]
    assert consumed(blocks) == (6.0, 1.5, (("A", 1.0), ("A/ix", 0.5), ("B", 2.0), ("C", 3.0), ("C/ix", 1.0)))


@pytest.mark.parametrize("cc", [None, [], {}])
def test_consumed_nothing(cc: Any) -> None:
    assert consumed(cc) == (0.0, 0.0, ())


# --- classify_error ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [
        ("ProvisionedThroughputExceededException", 400, "throttled"),
        ("ThrottlingException", 400, "throttled"),
        ("RequestLimitExceeded", 400, "throttled"),
        ("ThrottlingException", 500, "throttled"),
        ("ConditionalCheckFailedException", 400, "conditional_check_failed"),
        ("ValidationException", 400, "validation"),
        ("InternalServerError", 500, "server_error"),
        ("ServiceUnavailable", 503, "server_error"),
        ("ResourceNotFoundException", 400, "client_error"),
        ("AccessDeniedException", 400, "client_error"),
        ("Unknown", 0, "client_error"),
    ],
)
def test_classify_error(code: str, status: int, outcome: str) -> None:
    assert classify_error(code, status) == outcome
    assert outcome in OUTCOMES


# --- execute: errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "retries", "outcome"),
    [
        ("ProvisionedThroughputExceededException", 400, 3, "throttled"),
        ("ThrottlingException", 400, 2, "throttled"),
        ("RequestLimitExceeded", 400, 1, "throttled"),
        ("ConditionalCheckFailedException", 400, 0, "conditional_check_failed"),
        ("ValidationException", 400, 0, "validation"),
        ("InternalServerError", 500, 2, "server_error"),
        ("ResourceNotFoundException", 400, 0, "client_error"),
    ],
)
def test_execute_client_error(code: str, status: int, retries: int, outcome: str) -> None:
    client = FakeClient(error=client_error(code, status, retries))
    before = time.time_ns()
    result = execute(client, GET)
    after = time.time_ns()
    assert result.outcome == outcome
    assert result.error_code == code
    assert result.retries == retries
    assert not result.ok
    assert result.latency_ns > 0
    assert before <= result.start_unix_ns <= after
    assert (result.capacity, result.index_capacity, result.items, result.response_bytes) == (0.0, 0.0, 0, 0)
    assert client.calls == [("get_item", GET.kwargs)]


def test_execute_client_error_without_metadata() -> None:
    client = FakeClient(error=botocore.exceptions.ClientError({}, "GetItem"))
    result = execute(client, GET)
    assert (result.outcome, result.error_code, result.retries) == ("client_error", "Unknown", 0)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), "EndpointConnectionError"),
        (botocore.exceptions.ConnectTimeoutError(endpoint_url="http://x"), "ConnectTimeoutError"),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), "ReadTimeoutError"),
    ],
)
def test_execute_connection_errors(error: Exception, code: str) -> None:
    result = execute(FakeClient(error=error), QUERY)
    assert result.outcome == "connection"
    assert result.error_code == code
    assert result.retries == 0
    assert result.latency_ns > 0
    assert not result.ok


def test_execute_unexpected_exception_propagates() -> None:
    # Anything else is a bug in the harness and must not be counted as a request outcome.
    with pytest.raises(ZeroDivisionError):
        execute(FakeClient(error=ZeroDivisionError("boom")), GET)


def test_execute_unknown_operation_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        execute(FakeClient(), Call("scan", {}))


# --- execute: success ----------------------------------------------------------------------


def test_execute_query_success() -> None:
    response = {
        "Items": [{"k": {"S": "a"}}] * 3, "Count": 3, "ScannedCount": 3,
        "ConsumedCapacity": {"TableName": "T", "CapacityUnits": 1.5, "Table": {"CapacityUnits": 0.0},
                             "GlobalSecondaryIndexes": {"ix": {"CapacityUnits": 1.5}}},
        "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200, "RetryAttempts": 1,
                             "HTTPHeaders": {"content-length": "1234", "x-amz-crc32": "1"}},
    }
    client = FakeClient(response)
    before = time.time_ns()
    result = execute(client, QUERY)
    after = time.time_ns()
    assert isinstance(result, Result)
    assert result.ok
    assert result.outcome == "ok"
    assert result.error_code == ""
    assert result.retries == 1
    assert result.capacity == 0.0
    assert result.index_capacity == 1.5
    assert result.items == 3
    assert result.response_bytes == 1234
    assert result.latency_ns > 0
    assert before <= result.start_unix_ns <= after
    assert client.calls == [("query", QUERY.kwargs)]


def test_execute_query_zero_count() -> None:
    response = {"Items": [], "Count": 0, "ResponseMetadata": {"HTTPHeaders": {"content-length": "39"}}}
    result = execute(FakeClient(response), QUERY)
    assert (result.outcome, result.items, result.response_bytes) == ("ok", 0, 39)


def test_execute_get_item_found_and_missing() -> None:
    found = {"Item": {"conversationId": {"S": "c1"}},
             "ConsumedCapacity": {"TableName": "T", "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}},
             "ResponseMetadata": {"RetryAttempts": 0, "HTTPHeaders": {"content-length": "80"}}}
    result = execute(FakeClient(found), GET)
    assert (result.items, result.capacity, result.index_capacity, result.response_bytes) == (1, 0.5, 0.0, 80)
    missing = {"ConsumedCapacity": {"TableName": "T", "CapacityUnits": 0.5},
               "ResponseMetadata": {"HTTPHeaders": {"content-length": "2"}}}
    result = execute(FakeClient(missing), GET)
    assert (result.items, result.capacity, result.response_bytes) == (0, 0.5, 2)


def test_execute_update_with_attributes_counts_one_item() -> None:
    response = {"Attributes": {"status": {"S": "ONGOING"}},
                "ConsumedCapacity": {"TableName": "T", "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                                     "GlobalSecondaryIndexes": {"ix": {"CapacityUnits": 2.0}}},
                "ResponseMetadata": {"RetryAttempts": 4, "HTTPHeaders": {"content-length": "55"}}}
    result = execute(FakeClient(response), UPDATE)
    assert (result.outcome, result.retries, result.capacity, result.index_capacity, result.items) == (
        "ok", 4, 1.0, 2.0, 1)
    assert result.capacity_by == (("T", 1.0), ("T/ix", 2.0))
    # The request's key: "conversationId" (14 bytes) + "c1" (2); no values set.
    assert (result.items_written, result.bytes_written) == (1, 16)


def test_a_chain_keeps_capacity_per_table_and_index_of_every_call() -> None:
    put = Call("put_item", {"TableName": "M", "Item": {"id": {"S": "m1"}, "text": {"S": "hello"}}},
               then=lambda _resp: UPDATE)
    response = {"ConsumedCapacity": {"TableName": "T", "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                                     "GlobalSecondaryIndexes": {"ix": {"CapacityUnits": 2.0}}}}
    result = execute(FakeClient(response), put)
    assert result.capacity_by == (("T", 1.0), ("T/ix", 2.0), ("T", 1.0), ("T/ix", 2.0))
    assert (result.capacity, result.index_capacity) == (2.0, 4.0)
    # put: "id"+"m1" + "text"+"hello" = 13 bytes; update: its key, 16 bytes.
    assert (result.items_written, result.bytes_written) == (2, 29)


def test_written_items_and_bytes_by_dynamodb_sizing() -> None:
    update = {"Key": {"id": {"S": "c1"}}, "UpdateExpression": "SET #s = :s, n = n + :one",
              "ExpressionAttributeValues": {":s": {"S": "ONGOING"}, ":one": {"N": "1"}}}
    assert written("update_item", update, {}) == (1, 4 + 7 + 2)  # key, "ONGOING", number 1
    assert written("delete_item", {"Key": {"id": {"S": "c1"}}}, {}) == (1, 4)
    put_a = {"PutRequest": {"Item": {"k": {"S": "aaaa"}}}}
    put_b = {"PutRequest": {"Item": {"k": {"S": "bb"}}}}
    delete = {"DeleteRequest": {"Key": {"k": {"S": "c"}}}}
    batch = {"RequestItems": {"E": [put_a, put_b, delete]}}
    assert written("batch_write_item", batch, {}) == (3, 5 + 3 + 2)
    # Requests handed back unprocessed were not written (by this call).
    assert written("batch_write_item", batch, {"UnprocessedItems": {"E": [put_b]}}) == (2, 7)
    transact = {"TransactItems": [{"Put": {"Item": {"k": {"S": "aaaa"}}}},
                                  {"ConditionCheck": {"Key": {"k": {"S": "x"}}}},
                                  {"Update": update}]}
    assert written("transact_write_items", transact, {}) == (2, 5 + 13)


def test_the_timer_stops_before_the_accounting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Latency is the calls' alone: a chain's accounting (sizes of what it wrote, capacity)
    runs after the timer, not between its calls."""
    def slow_written(*_args: Any) -> tuple[int, int]:
        time.sleep(0.05)
        return 1, 7

    monkeypatch.setattr(execute_module, "written", slow_written)
    put = Call("put_item", {"TableName": "M", "Item": {"id": {"S": "m1"}}}, then=lambda _resp: UPDATE)
    result = execute(FakeClient({}), put)
    assert result.latency_ns < 40_000_000  # two instant calls, without 2 x 50 ms of accounting
    assert (result.items_written, result.bytes_written) == (2, 14)


def test_a_failed_write_writes_nothing() -> None:
    result = execute(FakeClient(error=client_error("ConditionalCheckFailedException", 400)), UPDATE)
    assert (result.outcome, result.items_written, result.bytes_written, result.capacity_by) == (
        "conditional_check_failed", 0, 0, ())


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 0), ({"content-length": "abc"}, 0), ({"content-length": ""}, 0), ({"content-length": "0"}, 0)],
)
def test_execute_response_bytes_without_usable_header(headers: dict[str, str], expected: int) -> None:
    response = {"ResponseMetadata": {"HTTPHeaders": headers}}
    assert execute(FakeClient(response), UPDATE).response_bytes == expected


def test_execute_bare_success_response() -> None:
    result = execute(FakeClient({}), UPDATE)
    assert (result.outcome, result.retries, result.capacity, result.index_capacity, result.items,
            result.response_bytes) == ("ok", 0, 0.0, 0.0, 0, 0)


def test_result_defaults_and_ok() -> None:
    r = Result(start_unix_ns=1, latency_ns=2, outcome="ok")
    assert (r.error_code, r.retries, r.capacity, r.index_capacity, r.items, r.response_bytes) == (
        "", 0, 0.0, 0.0, 0, 0)
    assert r.ok
    assert not Result(1, 2, "throttled").ok
