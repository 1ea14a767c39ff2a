"""The DynamoDB client factory and target resolution.

One client per process, created lazily (after any fork): a new session and client cost
150-200 ms of CPU. Retry mode and attempts are always explicit so that runs are comparable
across botocore versions, and the pool is sized to the concurrency so connections are reused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.config
import botocore.exceptions

from ddbbench import local
from ddbbench.errors import BenchError
from ddbbench.scenario import Client

# DynamoDB Local keeps separate tables per access key + region (without -sharedDb), so the
# loader and every load process must use the same fixed dummy credentials.
LOCAL_CREDENTIALS = {"aws_access_key_id": "ddbbench", "aws_secret_access_key": "ddbbench"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Endpoint:
    """A resolved target: ``kind`` is local (managed or detached), endpoint or aws."""

    kind: str
    url: str | None
    region: str
    managed: bool = False  # True when this run started DynamoDB Local itself

    @property
    def is_loopback(self) -> bool:
        return self.url is not None and urlparse(self.url).hostname in LOOPBACK

    def describe(self) -> dict[str, Any]:
        described = {"kind": self.kind, "url": self.url, "region": self.region, "managed": self.managed}
        if self.kind == "local":  # which build served the run: Local's speed differs by version
            described["server"] = f"DynamoDB Local from npm {local.NPM_PACKAGE} ({local.DIST_NAME})"
        return described


@contextlib.contextmanager
def open_target(target: str, region: str, port: int | None = None) -> Iterator[Endpoint]:
    """Resolve a scenario target; ``local`` reuses `ddbbench local start`'s server or starts one."""
    if target == "aws":
        yield Endpoint("aws", None, region)
    elif target != "local":
        yield Endpoint("endpoint", target, region)
    elif (running := local.read_state()) is not None:
        yield Endpoint("local", running.endpoint, region)
    else:
        with local.LocalServer(port=port) as server:
            yield Endpoint("local", server.endpoint, region, managed=True)


def make_client(endpoint: Endpoint, cfg: Client, pool_size: int = 10) -> Any:
    """A low-level DynamoDB client configured for load (explicit retries, sized pool)."""
    config = botocore.config.Config(
        region_name=endpoint.region,
        retries={"mode": cfg.retry_mode, "total_max_attempts": cfg.max_attempts},
        connect_timeout=cfg.connect_timeout_s,
        read_timeout=cfg.read_timeout_s,
        max_pool_connections=max(pool_size, 10),
        tcp_keepalive=True,
    )
    session = boto3.session.Session()
    creds: dict[str, str] = {}
    if endpoint.kind == "local" or (endpoint.is_loopback and session.get_credentials() is None):
        creds = LOCAL_CREDENTIALS
    return session.client("dynamodb", endpoint_url=endpoint.url, config=config, **creds)


def check_reachable(endpoint: Endpoint, cfg: Client) -> None:
    """Fail within seconds, with one clear line, when the target cannot answer ListTables."""
    quick = Client(retry_mode="standard", max_attempts=1,
                   connect_timeout_s=min(cfg.connect_timeout_s, 3.0), read_timeout_s=5.0)
    where = endpoint.url or f"AWS {endpoint.region}"
    try:
        make_client(endpoint, quick).list_tables(Limit=1)
    except botocore.exceptions.NoCredentialsError:
        raise BenchError(f"no AWS credentials found for target {where}; configure the usual "
                         "boto3 chain (AWS_PROFILE, environment or instance role)") from None
    except (botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError) as exc:
        raise BenchError(f"cannot reach DynamoDB at {where}: {exc}") from None
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        raise BenchError(f"DynamoDB at {where} refused ListTables: "
                         f"{err.get('Code')}: {err.get('Message')}") from None
