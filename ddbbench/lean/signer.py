"""AWS Signature Version 4 for DynamoDB's JSON protocol, with the signing key cached.

botocore derives the signing key (four HMACs) and builds the canonical request through
generic machinery on every call; here the canonical request is a template with the date,
target and body hash filled in, and the key is derived once per date, region and credentials.
Refreshable credentials (container and instance roles, SSO) are frozen on every call, as
botocore does, and the key is re-derived as soon as the frozen keys differ from the cached
ones. ``tests/test_lean_client.py`` checks the Authorization header against botocore's
``SigV4Auth`` byte for byte.

Example::

    signer = Signer(credentials, "http://127.0.0.1:8000", "us-east-1")
    headers = signer.headers("DynamoDB_20120810.GetItem", body)   # Host, X-Amz-Date, Authorization...
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.exceptions
from botocore.utils import normalize_url_path

CONTENT_TYPE = "application/x-amz-json-1.0"
SERVICE = "dynamodb"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_header(url: str) -> str:
    """The Host value botocore signs for ``url``: lowercase, default port dropped, IPv6 bracketed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


class Signer:
    """Signs POST requests to one DynamoDB endpoint with one credentials provider."""

    def __init__(self, credentials: Any, url: str, region: str) -> None:
        self._credentials = credentials  # botocore Credentials / RefreshableCredentials, or None
        self.host = host_header(url)
        self.path = quote(normalize_url_path(urlsplit(url).path or "/"), safe="/~")
        self.region = region
        self._scope_tail = f"/{region}/{SERVICE}/aws4_request"
        # Each cache is one tuple, replaced whole: threads share the signer, and a reader must
        # never pair one thread's key with another's credentials.
        self._key: tuple[tuple[str, str, str, str | None], bytes] = (("", "", "", None), b"")
        self._stamp: tuple[int, str] = (-1, "")

    def amz_date(self) -> str:
        """Now as SigV4's timestamp (20261203T074618Z), formatted once per second."""
        now = int(time.time())
        stamp = self._stamp
        if stamp[0] != now:
            stamp = self._stamp = (now, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)))
        return stamp[1]

    def signing_key(self, date: str, access: str, secret: str, token: str | None) -> bytes:
        """The derived key for ``date`` (YYYYMMDD), re-derived only when date or keys change."""
        cached = self._key
        if cached[0] != (date, access, secret, token):
            k = _hmac(f"AWS4{secret}".encode(), date)
            for part in (self.region, SERVICE, "aws4_request"):
                k = _hmac(k, part)
            cached = self._key = ((date, access, secret, token), k)
        return cached[1]

    def headers(self, target: str, body: bytes, amz_date: str | None = None) -> dict[str, str]:
        """Every header of the request, signed: Host, Content-Type, X-Amz-Target, X-Amz-Date,
        X-Amz-Security-Token (temporary credentials only) and Authorization."""
        if self._credentials is None:
            raise botocore.exceptions.NoCredentialsError()
        frozen = self._credentials.get_frozen_credentials()
        access, secret, token = frozen.access_key, frozen.secret_key, frozen.token
        stamp = amz_date or self.amz_date()
        date = stamp[:8]
        token_line = f"x-amz-security-token:{token}\n" if token else ""
        signed = ("content-type;host;x-amz-date;x-amz-security-token;x-amz-target" if token
                  else "content-type;host;x-amz-date;x-amz-target")
        canonical = (f"POST\n{self.path}\n\ncontent-type:{CONTENT_TYPE}\nhost:{self.host}\n"
                     f"x-amz-date:{stamp}\n{token_line}x-amz-target:{target}\n\n{signed}\n"
                     f"{hashlib.sha256(body).hexdigest()}")
        to_sign = (f"AWS4-HMAC-SHA256\n{stamp}\n{date}{self._scope_tail}\n"
                   f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        signature = hmac.new(self.signing_key(date, access, secret, token), to_sign.encode(),
                             hashlib.sha256).hexdigest()
        out = {"Host": self.host, "Content-Type": CONTENT_TYPE, "X-Amz-Target": target, "X-Amz-Date": stamp,
               "Authorization": f"AWS4-HMAC-SHA256 Credential={access}/{date}{self._scope_tail}, "
                                f"SignedHeaders={signed}, Signature={signature}"}
        if token:
            out["X-Amz-Security-Token"] = token
        return out


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()
