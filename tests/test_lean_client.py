"""The lean client (ddbbench/lean) is equivalent to boto3: signatures byte for byte, request
bodies as parsed JSON for every pattern of every design, responses and exceptions as boto3's
against the stub's fault injection, and request counts and consumed capacity per pattern on
DynamoDB Local."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import random
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import botocore.auth
import botocore.credentials
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSRequest

from benchmarks import lean_client
from ddbbench import local
from ddbbench.calibrate import calibrate
from ddbbench.client import Endpoint, make_client
from ddbbench.designs import DESIGNS, Call, with_design
from ddbbench.errors import ConfigError
from ddbbench.execute import execute
from ddbbench.lean import LeanClient, Signer
from ddbbench.patterns import REGISTRY, PatternPicker, RequestFactory
from ddbbench.replay import ReplayContext
from ddbbench.run import load_data
from ddbbench.scenario import Client, Scenario, load_scenario
from ddbbench.stub import StubServer
from ddbbench.typed import build

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.datetime(2026, 12, 3, 7, 46, 18)
URL = "http://127.0.0.1:8000"


def smoke() -> Scenario:
    return load_scenario(ROOT / "scenarios.yaml", "smoke")


def botocore_authorization(creds: botocore.credentials.Credentials, url: str, region: str, target: str,
                           body: bytes, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: NOW)
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    botocore.auth.SigV4Auth(creds, "dynamodb", region).add_auth(request)
    return dict(request.headers)


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////wEaDH session+token/=="])
@pytest.mark.parametrize(("url", "region"), [(URL, "us-east-1"),
                                             ("https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1")])
def test_signature_equals_botocore_byte_for_byte(token: str | None, url: str, region: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    creds = botocore.credentials.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    for body in (b'{"TableName": "Conversations", "Key": {"conversationId": {"S": "c-1"}}}', b"{}",
                 json.dumps({"TableName": "T", "Item": {"t": {"S": "caf\u00e9 \u2603"}}}).encode()):
        target = "DynamoDB_20120810.GetItem"
        expected = botocore_authorization(creds, url, region, target, body, monkeypatch)
        lean = Signer(creds, url, region).headers(target, body, amz_date=NOW.strftime("%Y%m%dT%H%M%SZ"))
        assert lean["Authorization"] == expected["Authorization"]
        assert lean["X-Amz-Date"] == expected["X-Amz-Date"]
        assert lean.get("X-Amz-Security-Token") == expected.get("X-Amz-Security-Token")


class RotatingCredentials:
    """Stands in for RefreshableCredentials: frozen keys that change when told."""

    def __init__(self) -> None:
        self.keys = botocore.credentials.ReadOnlyCredentials("AKID1", "secret1", "token1")

    def get_frozen_credentials(self) -> botocore.credentials.ReadOnlyCredentials:
        return self.keys


def test_signing_key_is_cached_and_rederived_when_credentials_rotate(monkeypatch: pytest.MonkeyPatch) -> None:
    rotating = RotatingCredentials()
    signer = Signer(rotating, URL, "us-east-1")
    stamp = NOW.strftime("%Y%m%dT%H%M%SZ")
    signer.headers("DynamoDB_20120810.GetItem", b"{}", stamp)
    first_key = signer.signing_key(stamp[:8], "AKID1", "secret1", "token1")
    assert signer.signing_key(stamp[:8], "AKID1", "secret1", "token1") is first_key  # cached
    rotating.keys = botocore.credentials.ReadOnlyCredentials("AKID2", "secret2", "token2")
    lean = signer.headers("DynamoDB_20120810.GetItem", b"{}", stamp)
    creds = botocore.credentials.Credentials("AKID2", "secret2", "token2")
    target = "DynamoDB_20120810.GetItem"
    expected = botocore_authorization(creds, URL, "us-east-1", target, b"{}", monkeypatch)
    assert lean["Authorization"] == expected["Authorization"]
    assert signer.signing_key(stamp[:8], "AKID2", "secret2", "token2") != first_key


def test_lean_refuses_other_retry_modes_at_validation() -> None:
    with pytest.raises(ConfigError, match=r"client.retry_mode: 'adaptive' is not available with client kind"):
        build(Client, {"kind": "lean", "retry_mode": "adaptive"}, "scenarios.x.client")
    with pytest.raises(ConfigError, match=r"client.kind: 'fast' is not a client kind in boto3, lean"):
        build(Client, {"kind": "fast"}, "scenarios.x.client")
    assert build(Client, {}, "c").kind == "boto3"


# --- request bodies and responses against the stub ----------------------------------------

def clients(url: str, **cfg: Any) -> dict[str, Any]:
    endpoint = Endpoint("endpoint", url, "us-east-1", credentials="dynamodb-local-fixed")
    return {kind: make_client(endpoint, Client(kind=kind, **cfg)) for kind in ("boto3", "lean")}


def record_bodies(kind: str, client: Any, sent: list[tuple[str, Any]]) -> None:
    """Append (X-Amz-Target, parsed body) of every request ``client`` sends to ``sent``."""
    if kind == "boto3":
        def before_send(request: Any, **_: Any) -> None:
            sent.append((request.headers["X-Amz-Target"].decode(), json.loads(request.body)))
        client.meta.events.register("before-send.dynamodb", before_send)
        return
    post = client.transport.post

    def recording_post(path: str, headers: dict[str, str], body: bytes) -> Any:
        sent.append((headers["X-Amz-Target"], json.loads(body)))
        return post(path, headers, body)
    client.transport.post = recording_post


def without_idempotency_token(sent: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(t, {k: v for k, v in body.items() if k != "ClientRequestToken"}) for t, body in sent]


@pytest.mark.parametrize("design", list(DESIGNS))
def test_request_bodies_equal_boto3s_for_every_pattern(design: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.urandom", lambda n: bytes(n))  # messages-as-items' message suffix
    sc = smoke() if design == "seed" else with_design(smoke(), design)
    with StubServer() as stub:
        pair = clients(stub.endpoint)
        sent: dict[str, list[tuple[str, Any]]] = {kind: [] for kind in pair}
        for kind, client in pair.items():
            record_bodies(kind, client, sent[kind])
        for client in pair.values():
            # Calls are built afresh for each client: a chained call keeps its pages.
            factory = RequestFactory.for_scenario(sc)
            factory.clock = lambda: "2026-12-03T07:46:18.000Z"  # the same timestamps for both
            for pattern in REGISTRY:
                rng = random.Random(f"bodies:{pattern}")
                for _ in range(5):
                    execute(client, factory.make(pattern, rng))  # chains follow the stub's answers
        assert sent["lean"] and len(sent["lean"]) == len(sent["boto3"])
        assert without_idempotency_token(sent["lean"]) == without_idempotency_token(sent["boto3"])
        assert {t for t, _ in sent["lean"]} >= {"DynamoDB_20120810.Query", "DynamoDB_20120810.UpdateItem",
                                                 "DynamoDB_20120810.BatchWriteItem"}


def sanitized(response: dict[str, Any]) -> dict[str, Any]:
    """A response without what differs per request (the stub's request id)."""
    meta = dict(response["ResponseMetadata"])
    meta.pop("RequestId", None)
    meta["HTTPHeaders"] = {k: v for k, v in meta["HTTPHeaders"].items() if k != "x-amzn-requestid"}
    return {**response, "ResponseMetadata": meta}


@pytest.mark.parametrize(("code", "status", "max_attempts"), [
    ("ProvisionedThroughputExceededException", 400, 3), ("ThrottlingException", 400, 2),
    ("ValidationException", 400, 3), ("InternalServerError", 500, 4), ("ServiceUnavailable", 503, 1),
    ("ConditionalCheckFailedException", 400, 3),
])
def test_errors_and_retries_equal_boto3s(code: str, status: int, max_attempts: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda s: None)  # and the lean client's: same module
    call = RequestFactory.for_scenario(smoke()).make("get_conversation", random.Random(1))
    with StubServer(errors=[{"code": code, "status": status, "rate": 1.0}]) as stub:
        seen = {}
        for kind, client in clients(stub.endpoint, max_attempts=max_attempts).items():
            with pytest.raises(botocore.exceptions.ClientError) as info:
                client.get_item(**call.kwargs)
            result = execute(client, call)
            seen[kind] = (type(info.value).__name__, str(info.value), sanitized(info.value.response),
                          result.outcome, result.error_code, result.retries)
    assert seen["lean"] == seen["boto3"]
    assert seen["lean"][2]["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_successful_responses_equal_boto3s(max_attempts: int) -> None:
    factory = RequestFactory.for_scenario(smoke())
    with StubServer() as stub:
        pair = clients(stub.endpoint, max_attempts=max_attempts)
        for pattern in REGISTRY:
            call = factory.make(pattern, random.Random(pattern))
            got = {kind: sanitized(getattr(c, call.operation)(**call.kwargs)) for kind, c in pair.items()}
            assert got["lean"] == got["boto3"], pattern


def test_unreachable_endpoint_raises_botocores_exception_after_the_same_attempts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.sleep", lambda s: None)
    with StubServer() as stub:
        url = stub.endpoint  # the port is free once the stub has stopped
    attempts: dict[str, int] = {}
    for kind, client in clients(url, max_attempts=3, connect_timeout_s=0.5).items():
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            client.get_item(TableName="t", Key={"k": {"S": "v"}})
        call = RequestFactory.for_scenario(smoke()).make("get_conversation", random.Random(1))
        result = execute(client, call)
        attempts[kind] = result.outcome, result.error_code
    assert attempts["lean"] == attempts["boto3"] == ("connection", "EndpointConnectionError")


def test_control_plane_and_blobs_go_through_botocore_semantics() -> None:
    with StubServer() as stub:
        lean = clients(stub.endpoint)["lean"]
        assert isinstance(lean, LeanClient)
        assert lean.meta.endpoint_url == stub.endpoint  # resolved by botocore
        assert lean.exceptions.ConditionalCheckFailedException.__name__ == "ConditionalCheckFailedException"
        sent: list[tuple[str, Any]] = []
        record_bodies("lean", lean, sent)
        lean.put_item(TableName="t", Item={"k": {"S": "v"}, "b": {"B": b"\x00\x01"}, "bs": {"BS": [b"\xff"]}})
        assert sent[0][1]["Item"]["b"] == {"B": "AAE="} and sent[0][1]["Item"]["bs"] == {"BS": ["/w=="]}


# --- DynamoDB Local: the smoke scenario driven without Locust --------------------------------

def drive(endpoint: Endpoint, sc: Scenario, requests: int) -> dict[str, Any]:
    """Load fresh tables with the scenario's client, then ``requests`` of its mix (seeded);
    per pattern: request count, outcomes, items, writes and capacity per table and index."""
    load_data(endpoint, sc, recreate=True)
    client = make_client(endpoint, sc.client)
    factory, picker = RequestFactory.for_scenario(sc, salt=0), PatternPicker(sc.mix)
    rng = random.Random(f"{sc.dataset.seed}:lean-equivalence")
    per: dict[str, Counter[str]] = {}
    for _ in range(requests):
        pattern = picker.pick(rng)
        result = execute(client, factory.make(pattern, rng))
        tally = per.setdefault(pattern, Counter())
        tally.update({"requests": 1, f"outcome:{result.outcome}": 1, "items": result.items,
                      "items_written": result.items_written, "bytes_written": result.bytes_written})
        for name, units in result.capacity_by:
            tally[f"capacity:{name}"] += units
    return {p: {k: round(v, 6) for k, v in c.items()} for p, c in per.items()}


def test_smoke_on_dynamodb_local_same_requests_and_capacity_per_pattern(
        ddb_local: local.ServerInfo, isolated_cache: Path) -> None:
    endpoint = Endpoint("local", ddb_local.endpoint, "us-east-1")
    sc = smoke()
    figures = {kind: drive(endpoint, dataclasses.replace(sc, client=Client(kind=kind)), 400)
               for kind in ("boto3", "lean")}
    assert figures["lean"] == figures["boto3"]
    assert set(figures["lean"]) == {p for p, w in sc.mix.weights().items() if w > 0}
    names = {k for tally in figures["lean"].values() for k in tally if k.startswith("capacity:")}
    assert any("/" in name for name in names)  # an index's capacity was compared too


@pytest.mark.parametrize(("code", "status", "base_s"), [("ThrottlingException", 400, 1.0),
                                                         ("InternalServerError", 500, 0.025)])
def test_backoff_is_botocores_full_jitter(code: str, status: int, base_s: float) -> None:
    with StubServer(errors=[{"code": code, "status": status, "rate": 1.0}]) as stub:
        lean = clients(stub.endpoint, max_attempts=4)["lean"]
        delays: list[float] = []
        lean.retry._sleep = delays.append
        with pytest.raises(botocore.exceptions.ClientError) as info:
            lean.get_item(TableName="t", Key={"k": {"S": "v"}})
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == len(delays) == 3
    # botocore's standard mode, DynamoDB: rand(0, 1) * base * 2 ** (attempt - 1)
    assert all(0 <= d <= base_s * 2 ** i for i, d in enumerate(delays))


def test_read_timeout_raises_botocores_exception_like_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda s: None)
    with StubServer(delay_ms=800) as stub:
        seen = {}
        for kind, client in clients(stub.endpoint, max_attempts=2, read_timeout_s=0.2).items():
            with pytest.raises(botocore.exceptions.ReadTimeoutError):
                client.get_item(TableName="t", Key={"k": {"S": "v"}})
            call = Call("get_item", {"TableName": "t", "Key": {"k": {"S": "v"}}})
            seen[kind] = execute(client, call).outcome
    assert seen == {"boto3": "connection", "lean": "connection"}


GEVENT_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import sys, gevent
from ddbbench.calibrate import calibrate
from ddbbench.client import Endpoint, make_client
from ddbbench.scenario import Client
client = make_client(Endpoint("endpoint", sys.argv[1], "us-east-1", credentials="dynamodb-local-fixed"),
                     Client(kind="lean"), pool_size=8)
def user(u):
    return [client.get_item(TableName="t", Key={"k": {"S": f"{u}-{i}"}}) for i in range(8)]
jobs = [gevent.spawn(user, u) for u in range(8)]  # 8 concurrent users, 8 requests each
gevent.joinall(jobs, raise_error=True)
print(client.under_gevent, sum(r["ResponseMetadata"]["HTTPStatusCode"] == 200 for j in jobs for r in j.value))
"""


def test_works_under_gevent_with_concurrent_greenlets() -> None:
    with StubServer(delay_ms=5) as stub:
        proc = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT, stub.endpoint], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        connections = stub.stats()
    assert proc.stdout.split() == ["True", "64"], proc.stderr
    assert 2 <= connections["connections"] <= 8  # concurrent (the stub's delay), kept alive and reused


def test_a_connection_closed_by_the_server_is_replaced() -> None:
    with StubServer() as stub:
        lean = clients(stub.endpoint)["lean"]
        lean.get_item(TableName="t", Key={"k": {"S": "v"}})
        for conn in lean.transport._idle:
            conn.sock.shutdown(socket.SHUT_RDWR)  # as a server closing an idle keep-alive connection
        assert lean.get_item(TableName="t", Key={"k": {"S": "v"}})["ResponseMetadata"]["RetryAttempts"] == 0


def test_lean_client_benchmark_runs() -> None:
    """benchmarks/lean_client.py at tiny sizes (figures meaningless here, not checked)."""
    with StubServer() as stub:
        endpoint = Endpoint("endpoint", stub.endpoint, "us-east-1", credentials="dynamodb-local-fixed")
        cpu = lean_client.cpu(requests=20, rounds=2, endpoint=endpoint)
        locust = lean_client.locust_rps(stub.endpoint, "lean", users=2, seconds=0.5)
        replay = lean_client.locust_rps(stub.endpoint, "harness-lean", users=2, seconds=0.5)
    assert cpu["boto3_cpu_us_per_request"] > 0 and cpu["lean_cpu_us_per_request"] > 0
    assert locust["rps"] > 0 and replay["rps"] > 0


def test_credentials_come_from_botocores_chain_and_the_endpoint_from_botocore(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMCHAIN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "chain-token")
    aws = make_client(Endpoint("aws", None, "eu-west-1"), Client(kind="lean"))
    assert aws.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    assert aws.signer.host == "dynamodb.eu-west-1.amazonaws.com" and aws.signer.region == "eu-west-1"
    with StubServer() as stub:
        lean = make_client(Endpoint("endpoint", stub.endpoint, "us-east-1", credentials="default-chain"),
                           Client(kind="lean"))
        headers = lean.signer.headers("DynamoDB_20120810.GetItem", b"{}")
        lean.get_item(TableName="t", Key={"k": {"S": "v"}})
        keys = stub.stats()["access_keys"]
    assert headers["X-Amz-Security-Token"] == "chain-token"
    assert "Credential=AKIDFROMCHAIN/" in headers["Authorization"] and keys == {"AKIDFROMCHAIN": 1}


def test_replay_and_calibration_use_the_configured_kind(tmp_path: Path) -> None:
    sc = dataclasses.replace(smoke(), client=Client(kind="lean"))
    with StubServer() as stub:
        ctx = ReplayContext.create(sc, Endpoint("endpoint", stub.endpoint, "us-east-1",
                                                credentials="dynamodb-local-fixed"), tmp_path, pool_size=2)
        assert isinstance(ctx.client, LeanClient) and ctx.recorder.client == "lean"
        ctx.close()
    assert calibrate(sc, 20)["client_cpu_ms_per_request"] > 0
