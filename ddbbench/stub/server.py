"""The stub server itself: a threaded TCP server speaking just enough HTTP/1.1 and DynamoDB JSON.

Requests carry ``X-Amz-Target`` and an ``application/x-amz-json-1.0`` body, as boto3's low-level
client sends them; the answers come from :mod:`ddbbench.stub.responses`, delayed, stalled or
replaced by an injected error as :mod:`ddbbench.stub.faults` says. A small control API on the
same port changes that at runtime (``GET``/``POST`` ``/__stub/control``, ``GET /__stub/stats``).

Example::

    server = make_server(port=0, delay_ms=2.0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ...  # use server.endpoint
    server.shutdown(); server.server_close()
"""

from __future__ import annotations

import itertools
import json
import random
import socketserver
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from ddbbench.errors import ConfigError
from ddbbench.stub.faults import (
    ErrorRule,
    Settings,
    check_delay_ms,
    check_port,
    check_seed,
    parse_changes,
    pick_rule,
)
from ddbbench.stub.responses import Responder, dumps

HOST = "127.0.0.1"
CONTROL_PATH = "/__stub/control"
STATS_PATH = "/__stub/stats"

# Defensive limits for the hand-written request parser (a test tool, but it must not hang or
# allocate without bound on a garbage request).
_MAX_LINE = 65536
_MAX_HEADERS = 100
_STALL_TICK_S = 0.05  # held requests re-check the stall this often, so cancelling one is prompt

_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 500: b"Internal Server Error",
            503: b"Service Unavailable"}
_HEAD = (b"HTTP/1.1 %d %s\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n"
         b"x-amzn-RequestId: stub-%d\r\n")
_UNKNOWN_OPERATION = b'{"__type":"com.amazon.coral.service#UnknownOperationException"}'
_NOT_AN_OBJECT = (b'{"__type":"com.amazon.coral.service#SerializationException",'
                  b'"Message":"request body is not a JSON object"}')


class _Stats:
    """Counters shared by the handler threads (a lock, because ``+=`` is not atomic)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.operations: dict[str, int] = {}
        self.access_keys: dict[str, int] = {}  # who signed: tests check where credentials came from
        self.errors: dict[str, int] = {}
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def snapshot(self, reset: bool = False) -> dict[str, Any]:
        with self.lock:
            snap = {"requests": self.requests, "operations": dict(self.operations),
                    "access_keys": dict(self.access_keys),
                    "errors": dict(self.errors), "injected_errors": sum(self.errors.values()),
                    "connections": self.connections, "in_flight": self.in_flight,
                    "max_in_flight": self.max_in_flight}
            if reset:  # atomically with the read, so no request is counted twice or never
                self.reset()
        return snap

    def connection(self) -> None:
        with self.lock:
            self.connections += 1

    def arrived(self, op: str, rule: ErrorRule | None, access_key: str) -> None:
        with self.lock:
            self.requests += 1
            self.operations[op] = self.operations.get(op, 0) + 1
            self.access_keys[access_key] = self.access_keys.get(access_key, 0) + 1
            if rule is not None:
                self.errors[rule.code] = self.errors.get(rule.code, 0) + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def left(self) -> None:
        with self.lock:
            self.in_flight -= 1


class StubHTTPServer(socketserver.ThreadingTCPServer):
    """The stub server itself (in-process); `StubServer` runs one in a child process.

    Plain ThreadingTCPServer rather than http.server.HTTPServer: the latter resolves its own
    fully qualified host name at bind time, which can take seconds on badly configured hosts.
    """

    daemon_threads = True  # idle keep-alive connections must never keep the process alive
    allow_reuse_address = True
    # A load test opens many connections at once; a short backlog would drop SYNs and the
    # client's retransmission (1 s) would show up as a fake latency spike.
    request_queue_size = 1024

    def __init__(self, port: int = 0, delay_ms: float = 0.0, seed: int = 0) -> None:
        delay_s = check_delay_ms(delay_ms) / 1000.0  # before binding: a bad value binds nothing
        super().__init__((HOST, check_port(port)), _Handler)
        self.settings = Settings(delay_s=delay_s, seed=check_seed(seed))
        self.rng = random.Random(seed)
        self.stall_until = 0.0  # time.monotonic() instant until which requests are held
        self.stats = _Stats()
        self.responder = Responder()
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
        # a bug in this package and keeps its traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply control settings (validated first, so a bad request changes nothing).

        Raises ConfigError for an unknown setting or a bad value; returns the settings.
        """
        update = parse_changes(changes)
        with self.control_lock:
            settings = update.applied_to(self.settings)
            if update.reseeds:
                self.rng = random.Random(settings.seed)
            self.settings = settings  # one assignment: readers see old or new
            if update.stall_s is not None:
                self.stall_until = time.monotonic() + update.stall_s
            return self.describe()

    def describe(self) -> dict[str, Any]:
        return {**self.settings.describe(),
                "stall_remaining_s": max(0.0, self.stall_until - time.monotonic())}

    def hold_while_stalled(self) -> None:
        while (wait := self.stall_until - time.monotonic()) > 0:
            time.sleep(min(wait, _STALL_TICK_S))

    def control(self, method: bytes, target: str, body: bytes) -> tuple[int, bytes]:
        """Answer a control API request: (HTTP status, JSON body)."""
        path, _, query = target.partition("?")
        if path == STATS_PATH and method == b"GET":
            return 200, dumps(self.stats.snapshot(reset="reset=1" in query.split("&")))
        if path == CONTROL_PATH and method == b"GET":
            return 200, dumps(self.describe())
        if path == CONTROL_PATH and method == b"POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ConfigError(f"control body {changes!r} is not a JSON object of settings")
                return 200, dumps(self.configure(changes))
            except (ValueError, ConfigError) as exc:  # ValueError: the body is not JSON
                return 400, dumps({"message": str(exc)})
        return 404, dumps({"message": f"no control endpoint {method.decode()} {path}; allowed: "
                                      f"GET/POST {CONTROL_PATH}, GET {STATS_PATH}[?reset=1]"})


def make_server(port: int = 0, delay_ms: float = 0.0, seed: int = 0) -> StubHTTPServer:
    """A bound, listening stub server on 127.0.0.1 (port 0: a free one); call serve_forever().

    Raises ConfigError for a bad port, delay or seed, OSError when the port cannot be bound.
    """
    return StubHTTPServer(port=port, delay_ms=delay_ms, seed=seed)


class _Request(NamedTuple):
    method: bytes
    target: bytes
    headers: dict[bytes, bytes]
    body: bytes
    keep: bool  # keep the connection open after the response


class _Handler(socketserver.StreamRequestHandler):
    """One client connection: HTTP/1.1 requests, kept alive until the client closes.

    The request parser is hand-written: http.server's (email.parser based) costs ~85 us per
    request, this one ~4 us, and the point of the stub is to add as little latency as possible.
    """

    server: StubHTTPServer
    disable_nagle_algorithm = True  # the response goes in one write; never wait for an ACK

    def handle(self) -> None:
        used_for_ddb = False
        while (req := self._read_request()) is not None:
            if req.target.startswith(b"/__stub/"):
                status, payload = self.server.control(req.method, req.target.decode("latin-1"), req.body)
                self._send(status, payload, req.keep)
            else:
                if not used_for_ddb:
                    used_for_ddb = True
                    self.server.stats.connection()
                self._dynamodb(req.headers.get(b"x-amz-target", b""), req.body, req.keep,
                               _access_key(req.headers.get(b"authorization", b"")))
            if not req.keep:
                return

    def _read_request(self) -> _Request | None:
        """The next request, or None when the connection ends (closed by the client, or a
        malformed request, already answered with a 400)."""
        line = self._request_line()
        if not line:
            return None  # the client closed the connection
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return self._refuse(b"malformed request line")
        method, target, version = parts
        headers = self._headers()
        if headers is None:
            return self._refuse(b"too many headers")
        if b"transfer-encoding" in headers:  # botocore always sends Content-Length
            return self._refuse(b"chunked requests are not supported")
        length = _content_length(headers)
        if length < 0:
            return self._refuse(b"bad Content-Length")
        if headers.get(b"expect", b"").lower() == b"100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            return None  # the client went away mid-body
        return _Request(method, target, headers, body, _keep_alive(version, headers))

    def _request_line(self) -> bytes:
        while (line := self.rfile.readline(_MAX_LINE)) in (b"\r\n", b"\n"):
            pass  # RFC 9112 2.2: tolerate empty lines before a request line
        return line

    def _headers(self) -> dict[bytes, bytes] | None:
        headers: dict[bytes, bytes] = {}
        for _ in range(_MAX_HEADERS):
            h = self.rfile.readline(_MAX_LINE)
            if h in (b"\r\n", b"\n", b""):
                return headers
            name, _, value = h.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return None

    def _refuse(self, message: bytes) -> _Request | None:
        """Answer 400 and close: after a malformed request the stream cannot be trusted."""
        self._send(400, b'{"message":"%s"}' % message, keep=False)
        return None

    def _send(self, status: int, body: bytes, keep: bool) -> None:
        # Status line, headers and body in a single write (one segment for small responses).
        head = _HEAD % (status, _REASONS.get(status, b"Error"), len(body), next(self.server.request_ids))
        if not keep:
            head += b"Connection: close\r\n"
        self.wfile.write(head + b"\r\n" + body)

    def _dynamodb(self, target: bytes, body: bytes, keep: bool, access_key: str = "") -> None:
        server = self.server
        settings = server.settings  # read once: a concurrent configure() never mixes settings
        op = target.rpartition(b".")[2].decode("latin-1")
        # Decide the error at arrival, so a sequential client sees the seeded sequence in order.
        rule = pick_rule(settings.errors, op, server.rng)
        server.stats.arrived(op, rule, access_key)
        try:
            # A stall pauses the whole server: requests arriving during it wait for its end and
            # then take their normal time; requests already in progress are held at the end too.
            server.hold_while_stalled()
            if settings.delay_s > 0:
                time.sleep(settings.delay_s)
            server.hold_while_stalled()
            if rule is not None:
                self._send(rule.status, rule.body, keep)
            else:
                self._send(*_answer(server.responder, op, body), keep)
        finally:
            server.stats.left()


def _access_key(authorization: bytes) -> str:
    """The access key id a SigV4 Authorization header names ('' when unsigned); the stub
    never checks signatures, it only records who signed.

    >>> _access_key(b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, ...")
    'AKIDEXAMPLE'
    """
    _, found, rest = authorization.partition(b"Credential=")
    return rest.split(b"/", 1)[0].decode("latin-1") if found else ""


def _answer(responder: Responder, op: str, body: bytes) -> tuple[int, bytes]:
    if not op:
        return 400, _UNKNOWN_OPERATION
    try:
        req = json.loads(body) if body else {}
    except ValueError:
        req = None
    if not isinstance(req, dict):
        return 400, _NOT_AN_OBJECT
    return 200, responder.body(op, req)


def _content_length(headers: Mapping[bytes, bytes]) -> int:
    """The declared body length, or -1 when it is not a number."""
    try:
        return int(headers.get(b"content-length", b"0"))
    except ValueError:
        return -1


def _keep_alive(version: bytes, headers: Mapping[bytes, bytes]) -> bool:
    conn = headers.get(b"connection", b"").lower()
    return conn != b"close" if version == b"HTTP/1.1" else conn == b"keep-alive"
