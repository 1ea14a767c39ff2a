"""A DynamoDB-compatible stub HTTP server with controllable latency, stalls and injected errors.

It speaks just enough of the DynamoDB JSON protocol (``X-Amz-Target`` + ``application/x-amz-json-1.0``)
for boto3's low-level client: GetItem, Query, Scan, PutItem, UpdateItem, DeleteItem, BatchGetItem,
BatchWriteItem and ListTables answer with small fixed items (the requested key echoed) and, when
asked, a plausible ``ConsumedCapacity``; any other operation answers ``{}``. Uses:

* calibrating the client's own per-request overhead against a near-zero-latency server;
* proving measurement truth: a known added delay or a server stall must show up in percentiles;
* injecting errors DynamoDB Local cannot produce (throttling, HTTP 500);
* benchmarking instrumentation overhead.

The server runs in its own process so that it never competes with the client under test for the
GIL, and its behaviour is changed at runtime through a small control API on the same port::

    with StubServer(delay_ms=0.0) as stub:
        client = boto3.client("dynamodb", endpoint_url=stub.endpoint, ...)
        stub.configure(delay_ms=5.0, errors=[{"code": "ThrottlingException", "rate": 0.1}])
        stub.configure(stall_s=1.0)            # every request for the next second waits for its end
        print(stub.stats())                   # {"requests": ..., "operations": {...}, ...}

From a shell: ``python -m ddbbench.stub --port 8000 --delay-ms 2`` (prints
``listening on http://127.0.0.1:8000``); control it with
``curl -d '{"delay_ms": 10}' http://127.0.0.1:8000/__stub/control``.

Only the standard library is imported here, so the server process starts in tens of milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import math
import os
import random
import re
import selectors
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
CONTROL_PATH = "/__stub/control"
STATS_PATH = "/__stub/stats"
LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:(\d+))")
ERROR_TYPE_PREFIX = "com.amazonaws.dynamodb.v20120810#"

# Defensive limits for the hand-written request parser (a test tool, but it must not hang or
# allocate without bound on a garbage request).
_MAX_LINE = 65536
_MAX_HEADERS = 100
_STALL_TICK_S = 0.05  # held requests re-check the stall this often, so cancelling one is prompt

# --- fixed response material ----------------------------------------------------------------

_ITEM: dict[str, Any] = {  # the shape of the seed design's conversation item, kept small
    "conversationId": {"S": "00000000-0000-4000-8000-000000000001"},
    "candidateId": {"S": "00000000-0000-4000-8000-0000000000c1"},
    "jobId": {"S": "00000000-0000-4000-8000-0000000000a1"},
    "status": {"S": "ONGOING"},
    "lastUpdated": {"S": "2026-01-01T00:00:01.000Z"},
    "messages": {"L": [
        {"M": {"sender": {"S": "system"}, "timestamp": {"S": "2026-01-01T00:00:00.000Z"},
               "content": {"S": "Hello, are you available for a short call?"}}},
        {"M": {"sender": {"S": "candidate"}, "timestamp": {"S": "2026-01-01T00:00:01.000Z"},
               "content": {"S": "Yes, tomorrow morning works."}}},
    ]},
}
_QUERY_ITEMS: list[dict[str, Any]] = [
    _ITEM, {**_ITEM, "conversationId": {"S": "00000000-0000-4000-8000-000000000002"}}]

# Messages DynamoDB itself sends for these codes (clients sometimes log or match on them).
_MESSAGES = {
    "ProvisionedThroughputExceededException":
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    "ThrottlingException": "Rate of requests exceeds the allowed throughput.",
    "ConditionalCheckFailedException": "The conditional request failed",
    "ValidationException": "One or more parameter values were invalid",
    "InternalServerError": "Internal server error",
}
_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 500: b"Internal Server Error",
            503: b"Service Unavailable"}
_SINGLE_TABLE_OPS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"})
_RETURN_ITEM_VALUES = frozenset({"ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"})
_HEAD = (b"HTTP/1.1 %d %s\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n"
         b"x-amzn-RequestId: stub-%d\r\n")
_MEMO_MAX = 4096  # cached response bodies; bounded because table/index names come from requests


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _capacity(table: str, mode: str, units: float, index: str | None = None) -> dict[str, Any]:
    """A ConsumedCapacity entry: TOTAL gives the sum, INDEXES adds the table/GSI breakdown."""
    if mode != "INDEXES":
        return {"TableName": table, "CapacityUnits": units}
    if index:  # a query on an index reads the index, not the base table
        return {"TableName": table, "CapacityUnits": units, "Table": {"CapacityUnits": 0.0},
                "GlobalSecondaryIndexes": {index: {"CapacityUnits": units}}}
    return {"TableName": table, "CapacityUnits": units, "Table": {"CapacityUnits": units}}


def _with_key(key: object) -> dict[str, Any]:
    return {**_ITEM, **key} if isinstance(key, dict) else dict(_ITEM)


def _batch_get(req: Mapping[str, Any], mode: str | None) -> dict[str, Any]:
    responses: dict[str, list[dict[str, Any]]] = {}
    used: list[dict[str, Any]] = []
    for table, spec in (req.get("RequestItems") or {}).items():
        keys = (spec.get("Keys") or []) if isinstance(spec, dict) else []
        responses[table] = [_with_key(k) for k in keys]
        used.append(_capacity(table, mode or "", 1.0 * len(keys)))
    out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": {}}
    if mode in ("INDEXES", "TOTAL"):
        out["ConsumedCapacity"] = used  # a list for batch operations, one entry per table
    return out


def _batch_write(req: Mapping[str, Any], mode: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"UnprocessedItems": {}}
    if mode in ("INDEXES", "TOTAL"):
        out["ConsumedCapacity"] = [_capacity(t, mode, 1.0 * len(w) if isinstance(w, list) else 1.0)
                                   for t, w in (req.get("RequestItems") or {}).items()]
    return out


class _Responder:
    """Turns a parsed DynamoDB request into a response body; caches bodies that do not echo."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str, str, str], bytes] = {}

    def body(self, op: str, req: Mapping[str, Any]) -> bytes:
        mode = req.get("ReturnConsumedCapacity")
        table = req.get("TableName") if isinstance(req.get("TableName"), str) else ""
        index = req.get("IndexName") if isinstance(req.get("IndexName"), str) else ""
        if op == "GetItem":
            out: dict[str, Any] = {"Item": _with_key(req.get("Key"))}
        elif op in ("PutItem", "UpdateItem", "DeleteItem") and req.get("ReturnValues") in _RETURN_ITEM_VALUES:
            out = {"Attributes": _with_key(req.get("Key", req.get("Item")))}  # PutItem has no Key
        elif op == "BatchGetItem":
            return _dumps(_batch_get(req, mode))
        elif op == "BatchWriteItem":
            return _dumps(_batch_write(req, mode))
        else:  # the answer depends only on (op, table, index, mode): encode once
            memo_key = (op, table, index, mode if isinstance(mode, str) else "")
            cached = self._memo.get(memo_key)
            if cached is None:
                cached = _dumps(self._fixed(op, table, index, mode))
                if len(self._memo) >= _MEMO_MAX:
                    self._memo.clear()
                self._memo[memo_key] = cached
            return cached
        if mode in ("INDEXES", "TOTAL"):
            out["ConsumedCapacity"] = _capacity(table, mode, 1.0)
        return _dumps(out)

    @staticmethod
    def _fixed(op: str, table: str, index: str, mode: object) -> dict[str, Any]:
        out: dict[str, Any]
        if op in ("Query", "Scan"):
            out = {"Items": _QUERY_ITEMS, "Count": 2, "ScannedCount": 2}
        elif op == "ListTables":
            out = {"TableNames": []}
        else:
            out = {}
        if op in _SINGLE_TABLE_OPS and mode in ("INDEXES", "TOTAL"):
            indexed = op in ("Query", "Scan") and bool(index)
            out["ConsumedCapacity"] = _capacity(table, str(mode), 0.5 if indexed else 1.0,
                                                index if indexed else None)
        return out


# --- runtime settings -------------------------------------------------------------------------

@dataclass(frozen=True)
class _ErrorRule:
    code: str
    status: int
    rate: float
    operations: frozenset[str] | None
    body: bytes  # pre-encoded: the error body never changes

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "status": self.status, "rate": self.rate}
        if self.operations is not None:
            out["operations"] = sorted(self.operations)
        return out


def _number(spec: Mapping[str, Any], name: str, low: float, high: float = math.inf) -> float:
    value = spec[name]
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or not low <= value <= high):
        raise ValueError(f"{name}: {value!r} is not a number in [{low:g}, {high:g}]")
    return float(value)


def _error_rule(spec: object) -> _ErrorRule:
    if not isinstance(spec, dict):
        raise ValueError(f"errors: {spec!r} is not an object")
    unknown = set(spec) - {"code", "status", "rate", "operations", "message"}
    if unknown:
        raise ValueError(f"errors: unknown keys {sorted(unknown)}")
    code = spec.get("code")
    if not isinstance(code, str) or not code:
        raise ValueError(f"errors: code {code!r} is not a non-empty string")
    # Server-side codes default to 500, everything else is a client error like DynamoDB's.
    status = spec.get("status", 500 if code in ("InternalServerError", "ServiceUnavailable") else 400)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError(f"errors: status {status!r} is not an HTTP error status (400-599)")
    rate = _number(spec, "rate", 0.0, 1.0) if "rate" in spec else 1.0
    ops = spec.get("operations")
    if ops is not None and (not isinstance(ops, list) or not all(isinstance(o, str) for o in ops)):
        raise ValueError(f"errors: operations {ops!r} is not a list of operation names")
    message = spec.get("message", _MESSAGES.get(code, "Injected by the ddbbench stub"))
    body = _dumps({"__type": ERROR_TYPE_PREFIX + code, "message": str(message)})
    return _ErrorRule(code, status, rate, None if ops is None else frozenset(ops), body)


@dataclass(frozen=True)
class _Settings:
    delay_s: float = 0.0
    errors: tuple[_ErrorRule, ...] = ()
    seed: int = 0

    def describe(self) -> dict[str, Any]:
        return {"delay_ms": self.delay_s * 1000.0, "errors": [e.describe() for e in self.errors],
                "seed": self.seed}


class _Stats:
    """Counters shared by the handler threads (a lock, because ``+=`` is not atomic)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.operations: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def snapshot(self) -> dict[str, Any]:
        return {"requests": self.requests, "operations": dict(self.operations),
                "errors": dict(self.errors), "injected_errors": sum(self.errors.values()),
                "connections": self.connections, "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight}


# --- the server -------------------------------------------------------------------------------

class StubHTTPServer(socketserver.ThreadingTCPServer):
    """The stub server itself (in-process); `StubServer` runs one in a child process.

    Plain ThreadingTCPServer rather than http.server.HTTPServer: the latter resolves its own
    fully qualified host name at bind time, which can take seconds on badly configured hosts.

    Example::

        server = make_server(port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ...  # use server.endpoint
        server.shutdown(); server.server_close()
    """

    daemon_threads = True  # idle keep-alive connections must never keep the process alive
    allow_reuse_address = True
    # A load test opens many connections at once; a short backlog would drop SYNs and the
    # client's retransmission (1 s) would show up as a fake latency spike.
    request_queue_size = 1024

    def __init__(self, port: int = 0, delay_ms: float = 0.0, seed: int = 0) -> None:
        super().__init__((HOST, port), _Handler)
        self.settings = _Settings(delay_s=delay_ms / 1000.0, seed=seed)
        self.rng = random.Random(seed)
        self.stall_until = 0.0  # time.monotonic() instant until which requests are held
        self.stats = _Stats()
        self.responder = _Responder()
        self.request_ids = itertools.count(1)
        self.control_lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing its connection mid-request is normal under load; anything else is
        # a bug in this module and keeps its traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply control settings (validated first, so a bad request changes nothing)."""
        unknown = set(changes) - {"delay_ms", "errors", "stall_s", "seed"}
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; expected delay_ms, errors, stall_s, seed")
        with self.control_lock:
            s = self.settings
            delay_s = _number(changes, "delay_ms", 0.0) / 1000.0 if "delay_ms" in changes else s.delay_s
            errors = s.errors
            if "errors" in changes:
                if not isinstance(changes["errors"], list):
                    raise ValueError("errors: expected a list of rules")
                errors = tuple(_error_rule(r) for r in changes["errors"])
            seed = changes.get("seed", s.seed)
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise ValueError(f"seed: {seed!r} is not an integer")
            stall_s = _number(changes, "stall_s", 0.0) if "stall_s" in changes else None
            if "errors" in changes or "seed" in changes:
                # Reseed on every change of rules so the same configure sequence gives the
                # same error sequence (for sequential clients).
                self.rng = random.Random(seed)
            self.settings = _Settings(delay_s, errors, seed)  # one assignment: readers see old or new
            if stall_s is not None:  # 0 cancels a stall in progress
                self.stall_until = time.monotonic() + stall_s
            return self.describe()

    def describe(self) -> dict[str, Any]:
        return {**self.settings.describe(),
                "stall_remaining_s": max(0.0, self.stall_until - time.monotonic())}

    def hold_while_stalled(self) -> None:
        while (wait := self.stall_until - time.monotonic()) > 0:
            time.sleep(min(wait, _STALL_TICK_S))


def make_server(port: int = 0, delay_ms: float = 0.0, seed: int = 0) -> StubHTTPServer:
    """A bound, listening stub server on 127.0.0.1 (port 0: a free one); call serve_forever()."""
    return StubHTTPServer(port=port, delay_ms=delay_ms, seed=seed)


class _Handler(socketserver.StreamRequestHandler):
    """One client connection: HTTP/1.1 requests, kept alive until the client closes.

    The request parser is hand-written: http.server's (email.parser based) costs ~85 us per
    request, this one ~4 us, and the point of the stub is to add as little latency as possible.
    """

    server: StubHTTPServer
    disable_nagle_algorithm = True  # the response goes in one write; never wait for an ACK

    def handle(self) -> None:
        used_for_ddb = False
        while True:
            line = self.rfile.readline(_MAX_LINE)
            if not line:
                return  # the client closed the connection
            if line in (b"\r\n", b"\n"):
                continue  # RFC 9112 2.2: tolerate empty lines before a request line
            parts = line.split()
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
                self._send(400, b'{"message":"malformed request line"}', keep=False)
                return
            method, target, version = parts
            headers: dict[bytes, bytes] = {}
            for _ in range(_MAX_HEADERS):
                h = self.rfile.readline(_MAX_LINE)
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.partition(b":")
                headers[name.strip().lower()] = value.strip()
            else:
                self._send(400, b'{"message":"too many headers"}', keep=False)
                return
            conn = headers.get(b"connection", b"").lower()
            keep = conn != b"close" if version == b"HTTP/1.1" else conn == b"keep-alive"
            if b"transfer-encoding" in headers:  # botocore always sends Content-Length
                self._send(400, b'{"message":"chunked requests are not supported"}', keep=False)
                return
            try:
                length = int(headers.get(b"content-length", b"0"))
            except ValueError:
                length = -1
            if length < 0:
                self._send(400, b'{"message":"bad Content-Length"}', keep=False)
                return
            if headers.get(b"expect", b"").lower() == b"100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                return  # the client went away mid-body
            if target.startswith(b"/__stub/"):
                status, payload = self._control(method, target.decode("latin-1"), body)
                self._send(status, payload, keep)
            else:
                if not used_for_ddb:
                    used_for_ddb = True
                    with self.server.stats.lock:
                        self.server.stats.connections += 1
                self._dynamodb(headers.get(b"x-amz-target", b""), body, keep)
            if not keep:
                return

    def _send(self, status: int, body: bytes, keep: bool) -> None:
        # Status line, headers and body in a single write (one segment for small responses).
        head = _HEAD % (status, _REASONS.get(status, b"Error"), len(body), next(self.server.request_ids))
        if not keep:
            head += b"Connection: close\r\n"
        self.wfile.write(head + b"\r\n" + body)

    def _dynamodb(self, target: bytes, body: bytes, keep: bool) -> None:
        server = self.server
        settings = server.settings  # read once: a concurrent configure() never mixes settings
        op = target.rpartition(b".")[2].decode("latin-1")
        # Decide the error at arrival, so a sequential client sees the seeded sequence in order.
        rule = None
        for r in settings.errors:
            applies = r.operations is None or op in r.operations
            if applies and (r.rate >= 1.0 or server.rng.random() < r.rate):
                rule = r
                break
        stats = server.stats
        with stats.lock:
            stats.requests += 1
            stats.operations[op] = stats.operations.get(op, 0) + 1
            if rule is not None:
                stats.errors[rule.code] = stats.errors.get(rule.code, 0) + 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            # A stall pauses the whole server: requests arriving during it wait for its end and
            # then take their normal time; requests already in progress are held at the end too.
            server.hold_while_stalled()
            if settings.delay_s > 0:
                time.sleep(settings.delay_s)
            server.hold_while_stalled()
            if rule is not None:
                self._send(rule.status, rule.body, keep)
                return
            if not op:
                self._send(400, b'{"__type":"com.amazon.coral.service#UnknownOperationException"}', keep)
                return
            try:
                req = json.loads(body) if body else {}
            except ValueError:
                req = None
            if not isinstance(req, dict):
                self._send(400, b'{"__type":"com.amazon.coral.service#SerializationException",'
                                b'"Message":"request body is not a JSON object"}', keep)
                return
            self._send(200, server.responder.body(op, req), keep)
        finally:
            with stats.lock:
                stats.in_flight -= 1

    def _control(self, method: bytes, target: str, body: bytes) -> tuple[int, bytes]:
        server = self.server
        path, _, query = target.partition("?")
        if path == STATS_PATH and method == b"GET":
            with server.stats.lock:
                snap = server.stats.snapshot()
                if "reset=1" in query.split("&"):
                    server.stats.reset()
            return 200, _dumps(snap)
        if path == CONTROL_PATH and method == b"GET":
            return 200, _dumps(server.describe())
        if path == CONTROL_PATH and method == b"POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("the control body must be a JSON object")
                return 200, _dumps(server.configure(changes))
            except ValueError as exc:
                return 400, _dumps({"message": str(exc)})
        return 404, _dumps({"message": f"no control endpoint {method.decode()} {path}"})


# --- the parent-side handle -------------------------------------------------------------------

class StubServer:
    """The stub server in a child process, as a context manager.

    Start waits until the child listens (it reports its port on stdout); exit terminates it
    (then kills it), also when the body raises. If the parent dies outright, the child sees
    EOF on its stdin and exits too.

    Example::

        with StubServer(delay_ms=1.0) as stub:
            client = boto3.client("dynamodb", endpoint_url=stub.endpoint, region_name="us-east-1",
                                  aws_access_key_id="x", aws_secret_access_key="x")
            client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["pk"]  # {'S': 'a'}
            stub.configure(errors=[{"code": "ProvisionedThroughputExceededException", "rate": 0.5}])
            stub.stats()["operations"]                                          # {'GetItem': 1}
    """

    def __init__(self, delay_ms: float = 0.0, *, errors: Sequence[Mapping[str, Any]] | None = None,
                 seed: int = 0, port: int = 0, ready_timeout_s: float = 15.0) -> None:
        if delay_ms < 0:
            raise ValueError(f"delay_ms: {delay_ms!r} is not >= 0")
        self.delay_ms = delay_ms
        self.initial_errors = list(errors) if errors else []
        self.seed = seed
        self.requested_port = port
        self.ready_timeout_s = ready_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._endpoint: str | None = None
        self._port = 0

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> StubServer:
        """Start the child process and wait until it accepts connections."""
        if self._proc is not None:
            raise RuntimeError("stub server already started")
        env = dict(os.environ)
        # Make the child import this very package, whatever the parent's sys.path tricks.
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        cmd = [sys.executable, "-m", "ddbbench.stub", "--port", str(self.requested_port),
               "--delay-ms", repr(float(self.delay_ms)), "--seed", str(self.seed), "--exit-on-stdin-eof"]
        # New session: the user's Ctrl-C must not kill the stub before the client under test
        # has finished with it; stop() (or the stdin EOF) ends it.
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                      start_new_session=True)
        try:
            self._endpoint, self._port = self._await_listening()
            if self.initial_errors:
                self.configure(errors=self.initial_errors)
        except BaseException:
            self.stop()
            raise
        return self

    def _await_listening(self) -> tuple[str, int]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + self.ready_timeout_s
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError("stub server did not report its port within "
                                       f"{self.ready_timeout_s:g}s")
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 4096)  # raw reads: never mix with the buffered pipe object
                if not chunk:
                    code = self._proc.wait()
                    raise RuntimeError(f"stub server exited with code {code} before it was ready "
                                       "(its stderr is above)")
                buf += chunk
        m = LISTENING.search(buf)
        if m is None:
            raise RuntimeError(f"unexpected first line from the stub server: {buf!r}")
        return m.group(1).decode(), int(m.group(2))

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the child process (kill it if it does not exit within timeout_s)."""
        proc, self._proc = self._proc, None
        self._endpoint = None  # a stopped stub has no address (start() may be called again)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- addresses ---------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, for ``endpoint_url=``."""
        if self._endpoint is None:
            raise RuntimeError("stub server not started")
        return self._endpoint

    @property
    def port(self) -> int:
        if self._endpoint is None:
            raise RuntimeError("stub server not started")
        return self._port

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # --- control -----------------------------------------------------------------------------
    def configure(self, *, delay_ms: float | None = None, errors: Sequence[Mapping[str, Any]] | None = None,
                  stall_s: float | None = None, seed: int | None = None) -> dict[str, Any]:
        """Change behaviour now, for every later (and, for stall_s, in-progress) request.

        Arguments left as None keep their value. ``errors`` replaces the rules: each is
        ``{"code": str, "status": int = 400 (500 for InternalServerError), "rate": float = 1.0,
        "operations": [op, ...] (optional filter), "message": str (optional)}``; the first rule
        that fires answers the request. Setting errors or seed reseeds the random generator.
        ``stall_s`` holds every request until now + stall_s (0 cancels). Returns the settings.

        Example: ``stub.configure(delay_ms=20, errors=[{"code": "ThrottlingException", "rate": 0.1}])``
        """
        changes: dict[str, Any] = {}
        if delay_ms is not None:
            changes["delay_ms"] = delay_ms
        if errors is not None:
            changes["errors"] = [dict(e) for e in errors]
        if stall_s is not None:
            changes["stall_s"] = stall_s
        if seed is not None:
            changes["seed"] = seed
        return self._call("POST", CONTROL_PATH, changes)

    def stats(self, reset: bool = False) -> dict[str, Any]:
        """Counters since start (or the last reset): requests, operations {op: n}, errors
        {code: n}, injected_errors, connections (that carried DynamoDB requests), in_flight,
        max_in_flight. ``reset=True`` zeroes them atomically with the read.

        Example: ``stub.stats()["operations"]`` -> ``{'GetItem': 50}``
        """
        return self._call("GET", STATS_PATH + ("?reset=1" if reset else ""), None)

    def _call(self, method: str, path: str, payload: object) -> dict[str, Any]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10.0)
        try:
            body = None if payload is None else json.dumps(payload)
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = json.loads(resp.read() or b"{}")
        finally:
            conn.close()
        if resp.status == 400:
            raise ValueError(data.get("message", "stub server refused the settings"))
        if resp.status != 200:
            raise RuntimeError(f"stub control {method} {path}: HTTP {resp.status}: {data}")
        return data


# --- command line -----------------------------------------------------------------------------

def _exit_on_stdin_eof() -> None:
    # The parent holds the write end of our stdin; when it exits (even killed with SIGKILL),
    # the read returns EOF and the stub must not outlive it.
    while True:
        try:
            if not os.read(0, 4096):
                break
        except OSError:
            break
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ddbbench.stub [--port N] [--delay-ms X] [--seed S]``: serve in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m ddbbench.stub",
                                     description="DynamoDB-compatible stub server (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="added delay per DynamoDB request")
    parser.add_argument("--seed", type=int, default=0, help="seed of the error-injection generator")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.delay_ms >= 0 and math.isfinite(args.delay_ms)):
        parser.error(f"--delay-ms: {args.delay_ms:g} is not a delay >= 0")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: {args.port} is not a port number")
    try:
        server = make_server(port=args.port, delay_ms=args.delay_ms, seed=args.seed)
    except OSError as exc:
        print(f"cannot listen on {HOST}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    # The socket already listens: connections made after this line queue until accepted.
    print(f"listening on {server.endpoint}", flush=True)
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_on_stdin_eof, name="stdin-eof", daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to stop a foreground server
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
