"""Keep-alive HTTP for the lean client: a minimal HTTP/1.1 client for one endpoint, one
``sendall`` per request and a buffered read of the response, with failures raised as botocore's
exceptions (botocore/httpsession.py's mapping), so ``ddbbench.execute`` and the loader classify
them exactly as they do boto3's.

Why not urllib3: it (and http.client under it) cost about 250 us of CPU per request here
(header objects, an email-parser pass over the response headers, two sends per request), two
thirds of what was left of a lean GetItem. DynamoDB's protocol needs none of that: every request
is a POST with a body, every response carries Content-Length. Connections are pooled per
client (idle ones kept up to the concurrency; one found closed by the server is dropped before
use, as urllib3 does). The same code serves plain threads and, unchanged, Locust's greenlets:
under gevent the socket, select and threading modules are patched, so these sockets and the
pool's lock are cooperative (``under_gevent`` tells which, for the record).
"""

from __future__ import annotations

import select
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

import botocore
import botocore.exceptions
from botocore.httpsession import get_cert_path

_MAX_LINE = 65536
# Unsigned, as botocore leaves User-Agent out of the signature: tells server-side logs who sent it.
USER_AGENT = f"User-Agent: ddbbench-lean botocore/{botocore.__version__}\r\n"
_MAX_HEADERS = 200


@dataclass(slots=True)
class HttpResponse:
    """What botocore's retry checkers read of a response: status, lowercase headers, body."""

    status_code: int
    headers: dict[str, str]
    content: bytes


def under_gevent() -> bool:
    """True when gevent has patched the socket module (a Locust process)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("socket"))


class _Connection:
    __slots__ = ("rfile", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile: BinaryIO = sock.makefile("rb")

    def dropped(self) -> bool:
        """An idle keep-alive connection with something to read has been closed by the server."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


class Transport:
    """POSTs to one endpoint over pooled keep-alive connections (at most ``pool_size`` kept)."""

    def __init__(self, url: str, pool_size: int, connect_timeout_s: float, read_timeout_s: float,
                 tcp_keepalive: bool = True) -> None:
        parts = urlsplit(url)
        self.url = url
        self._address = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        https = parts.scheme == "https"
        self._tls = ssl.create_default_context(cafile=get_cert_path(True)) if https else None
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._keepalive = tcp_keepalive
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()  # gevent patches it into a cooperative lock under Locust
        self._pool_size = pool_size

    def post(self, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        conn = self._acquire()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = f"POST {path} HTTP/1.1\r\n{head}{USER_AGENT}Content-Length: {len(body)}\r\n\r\n"
        request = head.encode() + body
        try:
            conn.sock.sendall(request)
            response, keep = _read_response(conn.rfile)
        except TimeoutError as e:
            conn.close()
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=self.url, error=e) from None
        except (OSError, ValueError) as e:  # reset, closed, or not HTTP
            conn.close()
            raise botocore.exceptions.ConnectionClosedError(error=e, endpoint_url=self.url) from None
        if keep:
            self._release(conn)
        else:
            conn.close()
        return response

    def _acquire(self) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect()
            if not conn.dropped():
                return conn
            conn.close()

    def _release(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def _connect(self) -> _Connection:
        connect_s, read_s = self._timeouts
        try:
            sock = socket.create_connection(self._address, timeout=connect_s)
        except TimeoutError as e:
            raise botocore.exceptions.ConnectTimeoutError(endpoint_url=self.url, error=e) from None
        except OSError as e:  # refused, unreachable, name not resolved
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=self.url, error=e) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.settimeout(read_s)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
            except ssl.SSLError as e:
                sock.close()
                raise botocore.exceptions.SSLError(endpoint_url=self.url, error=e) from None
        return _Connection(sock)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _read_response(rfile: BinaryIO) -> tuple[HttpResponse, bool]:
    """One response: (status, lowercase headers, body), and whether the connection stays open."""
    line = rfile.readline(_MAX_LINE)
    if not line:
        raise ConnectionResetError("connection closed before a response")
    version, status, _ = (line.decode("latin-1").rstrip("\r\n") + "  ").split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP response: {line[:60]!r}")
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        h = rfile.readline(_MAX_LINE)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ValueError("too many response headers")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        content = _read_chunked(rfile)
    else:
        length = int(headers.get("content-length", "0"))
        content = rfile.read(length)
        if len(content) < length:
            raise ConnectionResetError("connection closed mid-body")
    keep = headers.get("connection", "").lower() != "close" and version != "HTTP/1.0"
    return HttpResponse(int(status), headers, content), keep


def _read_chunked(rfile: BinaryIO) -> bytes:
    parts = []
    while (size := int(rfile.readline(_MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)) > 0:
        parts.append(rfile.read(size))
        rfile.readline(_MAX_LINE)
    while rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(parts)
