"""Tests for the DynamoDB stub server (the ddbbench/stub/ package), driven by a real boto3 client.

Every test talks to a real stub process. Timing assertions are lower bounds implied by a
configured sleep only (or relative between two calls): never an upper bound on latency.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from ddbbench.errors import BenchError, ConfigError
from ddbbench.stub import CONTROL_PATH, LISTENING, StubServer

CONFIG = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1},
                                connect_timeout=5, read_timeout=30)
KEY = {"conversationId": {"S": "c-123"}}


def make_client(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x", config=CONFIG)


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def timed(fn: Any, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    fn(**kwargs)
    return time.perf_counter() - t0


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


@pytest.fixture
def stub(server: StubServer) -> StubServer:
    """The shared server, back to its defaults and with zeroed counters for each test."""
    server.configure(delay_ms=0.0, errors=[], stall_s=0.0, seed=0)
    server.stats(reset=True)
    return server


@pytest.fixture(scope="module")
def client(server: StubServer) -> Any:
    return make_client(server.endpoint)


# --- protocol ---------------------------------------------------------------------------------

def test_get_item_echoes_key_with_capacity(stub: StubServer, client: Any) -> None:
    resp = client.get_item(TableName="conversations", Key=KEY, ReturnConsumedCapacity="INDEXES")
    assert resp["Item"]["conversationId"] == {"S": "c-123"}
    assert resp["Item"]["status"] == {"S": "ONGOING"}
    assert resp["ConsumedCapacity"] == {"TableName": "conversations", "CapacityUnits": 1.0,
                                        "Table": {"CapacityUnits": 1.0}}
    meta = resp["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200 and meta["RequestId"].startswith("stub-")
    assert "ConsumedCapacity" not in client.get_item(TableName="conversations", Key=KEY)


def test_query_on_index_breaks_down_capacity(stub: StubServer, client: Any) -> None:
    resp = client.query(TableName="conversations", IndexName="candidateId-status-index",
                        KeyConditionExpression="candidateId = :c",
                        ExpressionAttributeValues={":c": {"S": "cand"}}, ReturnConsumedCapacity="INDEXES")
    assert resp["Count"] == 2 and resp["ScannedCount"] == 2 and len(resp["Items"]) == 2
    assert resp["ConsumedCapacity"] == {
        "TableName": "conversations", "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.0},
        "GlobalSecondaryIndexes": {"candidateId-status-index": {"CapacityUnits": 0.5}}}
    total = client.query(TableName="t", KeyConditionExpression="k = :k",
                         ExpressionAttributeValues={":k": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert total["ConsumedCapacity"] == {"TableName": "t", "CapacityUnits": 1.0}


def test_batch_get_returns_one_item_per_key(stub: StubServer, client: Any) -> None:
    keys = [{"conversationId": {"S": f"c{i}"}} for i in range(5)]
    resp = client.batch_get_item(RequestItems={"conversations": {"Keys": keys}, "candidates": {
        "Keys": [{"candidateId": {"S": "x"}}]}}, ReturnConsumedCapacity="INDEXES")
    got = [item["conversationId"]["S"] for item in resp["Responses"]["conversations"]]
    assert got == [f"c{i}" for i in range(5)]
    assert resp["Responses"]["candidates"][0]["candidateId"] == {"S": "x"}
    assert resp["UnprocessedKeys"] == {}
    assert isinstance(resp["ConsumedCapacity"], list)
    assert {c["TableName"]: c["CapacityUnits"] for c in resp["ConsumedCapacity"]} == {
        "conversations": 5.0, "candidates": 1.0}


def test_writes_and_other_operations_parse(stub: StubServer, client: Any) -> None:
    update = client.update_item(TableName="t", Key=KEY, UpdateExpression="SET #s = :s",
                                ConditionExpression="attribute_exists(conversationId)",
                                ExpressionAttributeNames={"#s": "status"},
                                ExpressionAttributeValues={":s": {"S": "COMPLETED"}},
                                ReturnConsumedCapacity="INDEXES")
    assert update["ConsumedCapacity"]["Table"] == {"CapacityUnits": 1.0}
    assert "Attributes" not in update
    new = client.update_item(TableName="t", Key=KEY, UpdateExpression="SET a = :a",
                             ExpressionAttributeValues={":a": {"S": "b"}}, ReturnValues="ALL_NEW")
    assert new["Attributes"]["conversationId"] == {"S": "c-123"}
    put = client.put_item(TableName="t", Item={**KEY, "a": {"S": "b"}})
    assert set(put) == {"ResponseMetadata"}
    batch = client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": KEY}}]},
                                    ReturnConsumedCapacity="TOTAL")
    assert batch["UnprocessedItems"] == {}
    assert batch["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 1.0}]
    assert client.list_tables()["TableNames"] == []
    assert set(client.delete_item(TableName="t", Key=KEY)) == {"ResponseMetadata"}
    assert set(client.describe_table(TableName="t")) == {"ResponseMetadata"}  # anything else: {}
    assert stub.stats()["operations"] == {"UpdateItem": 2, "PutItem": 1, "BatchWriteItem": 1,
                                          "ListTables": 1, "DeleteItem": 1, "DescribeTable": 1}


def test_keep_alive_reuses_connections(stub: StubServer) -> None:
    fresh = make_client(stub.endpoint)
    for i in range(50):
        fresh.get_item(TableName="t", Key={"k": {"S": str(i)}})
    stats = stub.stats()
    assert stats["requests"] == 50 and stats["operations"] == {"GetItem": 50}
    assert 1 <= stats["connections"] <= 2


def test_http_1_0_and_connection_close_end_the_connection(stub: StubServer) -> None:
    for version, header in (("HTTP/1.0", ""), ("HTTP/1.1", "Connection: close\r\n")):
        with socket.create_connection(("127.0.0.1", stub.port), timeout=5) as sock:
            sock.sendall(f"POST / {version}\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n{header}"
                         "Content-Length: 2\r\n\r\n{}".encode())
            data = b""
            while chunk := sock.recv(4096):  # the server closes: recv returns b"" at the end
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in head
        assert body == b'{"TableNames":[]}'


def test_malformed_request_gets_400(stub: StubServer) -> None:
    with socket.create_connection(("127.0.0.1", stub.port), timeout=5) as sock:
        sock.sendall(b"garbage\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")


# --- latency ----------------------------------------------------------------------------------

def test_delay_changes_at_runtime(stub: StubServer, client: Any) -> None:
    assert stub.configure(delay_ms=50)["delay_ms"] == 50.0
    assert timed(client.get_item, TableName="t", Key=KEY) >= 0.050
    assert timed(client.query, TableName="t", KeyConditionExpression="k = :k",
                 ExpressionAttributeValues={":k": {"S": "a"}}) >= 0.050
    stub.configure(delay_ms=120)
    assert timed(client.get_item, TableName="t", Key=KEY) >= 0.120


def test_concurrent_requests_are_delayed_in_parallel(stub: StubServer, client: Any) -> None:
    stub.configure(delay_ms=300)
    barrier = threading.Barrier(4)

    def one() -> None:
        barrier.wait()
        client.get_item(TableName="t", Key=KEY)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # All four were sleeping in the server at the same moment: the server does not serialise.
    assert stub.stats()["max_in_flight"] >= 2


def test_stall_holds_requests_until_its_end(stub: StubServer, client: Any) -> None:
    client.get_item(TableName="t", Key=KEY)  # the connection is open: the stall is all we time
    stub.configure(stall_s=1.0)
    stalled = timed(client.get_item, TableName="t", Key=KEY)
    assert stalled >= 0.9
    after = timed(client.get_item, TableName="t", Key=KEY)
    assert after < stalled


def test_stall_also_holds_a_request_in_progress(stub: StubServer, client: Any) -> None:
    stub.configure(delay_ms=300)
    done: list[float] = []
    t0 = time.perf_counter()
    worker = threading.Thread(target=lambda: (client.get_item(TableName="t", Key=KEY),
                                              done.append(time.perf_counter())))
    worker.start()
    time.sleep(0.1)  # the request is now sleeping its 300 ms in the server
    stub.configure(stall_s=1.0)
    worker.join()
    assert done and done[0] - t0 >= 1.1 - 0.05  # held until the stall's end, not answered at 0.3 s


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "status"), [
    ("ProvisionedThroughputExceededException", 400), ("ThrottlingException", 400),
    ("ConditionalCheckFailedException", 400), ("ValidationException", 400), ("InternalServerError", 500)])
def test_injected_error_parses(stub: StubServer, client: Any, code: str, status: int) -> None:
    stub.configure(errors=[{"code": code, "status": status, "rate": 1.0}])
    with pytest.raises(ClientError) as info:
        client.get_item(TableName="t", Key=KEY)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["Error"]["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert info.value.response["ResponseMetadata"]["RequestId"].startswith("stub-")
    assert stub.stats()["errors"] == {code: 1}


def test_internal_server_error_defaults_to_500(stub: StubServer, client: Any) -> None:
    stub.configure(errors=[{"code": "InternalServerError"}])
    with pytest.raises(ClientError) as info:
        client.list_tables()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_error_rate_is_seeded_and_counted(stub: StubServer, client: Any) -> None:
    def run() -> list[bool]:
        failed = []
        for _ in range(400):
            try:
                client.get_item(TableName="t", Key=KEY)
                failed.append(False)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
                failed.append(True)
        return failed

    rule = {"code": "ProvisionedThroughputExceededException", "status": 400, "rate": 0.5}
    stub.configure(errors=[rule], seed=7)
    first = run()
    assert 0.4 <= sum(first) / len(first) <= 0.6
    stats = stub.stats(reset=True)
    assert stats["injected_errors"] == sum(first)
    assert stats["errors"] == {"ProvisionedThroughputExceededException": sum(first)}
    assert stats["operations"] == {"GetItem": 400}
    stub.configure(errors=[rule], seed=7)  # same seed, same sequence
    assert run() == first


def test_error_rule_limited_to_operations(stub: StubServer, client: Any) -> None:
    stub.configure(errors=[{"code": "ConditionalCheckFailedException", "operations": ["UpdateItem"]}])
    assert client.get_item(TableName="t", Key=KEY)["Item"]
    with pytest.raises(ClientError) as info:
        client.update_item(TableName="t", Key=KEY, UpdateExpression="SET a = :a",
                           ExpressionAttributeValues={":a": {"S": "b"}})
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    stub.configure(errors=[])
    assert client.update_item(TableName="t", Key=KEY, UpdateExpression="SET a = :a",
                              ExpressionAttributeValues={":a": {"S": "b"}})


@pytest.mark.parametrize("changes", [
    {"delay_ms": -1}, {"stall_s": float("nan")}, {"errors": [{"code": ""}]},
    {"errors": [{"code": "X", "rate": 1.5}]}, {"errors": [{"code": "X", "status": 200}]},
    {"errors": [{"code": "X", "bogus": 1}]}, {"seed": 1.5}])
def test_bad_settings_are_refused_and_change_nothing(stub: StubServer, changes: dict[str, Any]) -> None:
    before = stub.configure()
    with pytest.raises(ConfigError):
        stub.configure(**changes)
    after = stub.configure()
    before.pop("stall_remaining_s")
    after.pop("stall_remaining_s")
    assert after == before


@pytest.mark.parametrize(("changes", "message"), [
    ({"delay_ms": -1}, "delay_ms: -1 is not a number of milliseconds >= 0"),
    ({"errors": [{"code": "X"}, {"code": "X", "rate": 1.5}]},
     r"errors\[1\]\.rate: 1\.5 is not a rate in \[0, 1\]"),
    ({"errors": [{"code": "X", "bogus": 1}]},
     r"errors\[0\]: unknown key\(s\) 'bogus'; allowed: code, status, rate, operations, message"),
    ({"errors": [{"code": "X", "status": 200}]}, r"errors\[0\]\.status: 200 is not an HTTP error status"),
    ({"seed": 1.5}, "seed: 1.5 is not an integer")])
def test_bad_settings_name_the_value_and_what_is_allowed(stub: StubServer, changes: dict[str, Any],
                                                         message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        stub.configure(**changes)


def test_control_api_refuses_unknown_settings_with_400(stub: StubServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
    try:
        conn.request("POST", CONTROL_PATH, body=json.dumps({"delay": 5}))
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 400
    assert body["message"] == "unknown stub setting(s) 'delay'; allowed: delay_ms, errors, stall_s, seed"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"errors": [{"code": "X", "rate": -0.1}]}, r"errors\[0\]\.rate: -0\.1 is not a rate in \[0, 1\]"),
    ({"errors": [{"code": "X", "operations": "GetItem"}]},
     r"errors\[0\]\.operations: 'GetItem' is not a list"),
    ({"delay_ms": float("inf")}, "delay_ms: inf is not a number of milliseconds >= 0"),
    ({"port": 70000}, r"port: 70000 is not a port number in \[0, 65535\]")])
def test_bad_arguments_are_refused_before_any_process_starts(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StubServer(**kwargs)


# --- lifecycle --------------------------------------------------------------------------------

def test_context_manager_stops_the_process() -> None:
    with StubServer(delay_ms=1.0) as stub:
        port = stub.port
        assert stub.endpoint == f"http://127.0.0.1:{port}"
        assert make_client(stub.endpoint).list_tables()["TableNames"] == []
    assert refuses(port)


def test_context_manager_stops_the_process_when_the_body_raises() -> None:
    stub = StubServer(errors=[{"code": "ThrottlingException"}])
    with pytest.raises(RuntimeError, match="boom"), stub:
        port = stub.port
        with pytest.raises(ClientError):  # the initial errors were applied
            make_client(stub.endpoint).list_tables()
        raise RuntimeError("boom")
    assert stub.pid is None
    assert refuses(port)
    with pytest.raises(RuntimeError, match="not started"):
        _ = stub.endpoint


@pytest.mark.timeout(30)
def test_command_line_prints_the_listening_line() -> None:
    with subprocess.Popen([sys.executable, "-m", "ddbbench.stub", "--port", "0", "--delay-ms", "1"],
                          stdout=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            m = LISTENING.fullmatch(line.rstrip())
            assert m is not None, line
            assert line.decode().startswith("listening on http://127.0.0.1:")
            assert make_client(m.group(1).decode()).list_tables()["TableNames"] == []
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert refuses(int(m.group(2)))


@pytest.mark.timeout(30)
def test_child_exits_when_its_parent_goes_away() -> None:
    # What StubServer relies on if the parent is killed outright: EOF on the child's stdin.
    with subprocess.Popen([sys.executable, "-m", "ddbbench.stub", "--exit-on-stdin-eof"],
                          stdout=subprocess.PIPE, stdin=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None and proc.stdin is not None
            assert proc.stdout.readline().startswith(b"listening on ")
            proc.stdin.close()
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_start_fails_clearly_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stub = StubServer(port=taken.getsockname()[1])
        with pytest.raises(BenchError, match="exited with code 1"):
            stub.start()
        assert stub.pid is None
