"""Keep-alive HTTP for the lean client: one urllib3 connection pool per client, sized to
the concurrency, failures raised as botocore's exceptions (so ``ddbbench.execute`` and the
loader classify them exactly as they do boto3's).

The same pool serves plain threads and Locust's greenlets: under Locust gevent has patched
the socket module, so urllib3's sockets yield to the hub like any other (``under_gevent``
tells which, for the record). The exception mapping is botocore's own
(botocore/httpsession.py ``URLLib3Session.send``).
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass

import botocore.exceptions
import urllib3
from botocore.httpsession import get_cert_path
from urllib3.connection import HTTPConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)


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


class Transport:
    """POSTs to one endpoint over pooled keep-alive connections (at most ``pool_size`` kept)."""

    def __init__(self, url: str, pool_size: int, connect_timeout_s: float, read_timeout_s: float,
                 tcp_keepalive: bool = True) -> None:
        self.url = url
        options = list(HTTPConnection.default_socket_options)
        if tcp_keepalive:
            options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
        extra = {"ca_certs": get_cert_path(True)} if url.startswith("https") else {}
        self._pool = urllib3.connection_from_url(
            url, maxsize=pool_size, block=False, retries=False, socket_options=options,
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s), **extra)

    def post(self, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        """Send one request; raise botocore's ConnectionError subclasses when no response came."""
        try:
            r = self._pool.urlopen("POST", path, body=body, headers=headers, retries=False,
                                   redirect=False, assert_same_host=False, preload_content=True,
                                   decode_content=False, enforce_content_length=False)
        except SSLError as e:
            raise botocore.exceptions.SSLError(endpoint_url=self.url, error=e) from None
        except (NewConnectionError, socket.gaierror) as e:  # before ConnectTimeoutError: a subclass
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=self.url, error=e) from None
        except ProxyError as e:
            raise botocore.exceptions.ProxyConnectionError(proxy_url=self.url, error=e) from None
        except ConnectTimeoutError as e:
            raise botocore.exceptions.ConnectTimeoutError(endpoint_url=self.url, error=e) from None
        except ReadTimeoutError as e:
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=self.url, error=e) from None
        except ProtocolError as e:
            raise botocore.exceptions.ConnectionClosedError(error=e, endpoint_url=self.url) from None
        except Exception as e:  # as botocore: anything else the HTTP layer raised
            raise botocore.exceptions.HTTPClientError(error=e) from None
        return HttpResponse(r.status, {k.lower(): v for k, v in r.headers.items()}, r.data)

    def close(self) -> None:
        self._pool.close()
