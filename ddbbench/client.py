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
from ddbbench.errors import BenchError, ConfigError, UnusableInput
from ddbbench.lean import LeanClient
from ddbbench.scenario import Client

# DynamoDB Local keeps separate tables per access key + region (without -sharedDb), so the
# loader and every load process must use the same fixed dummy credentials.
LOCAL_CREDENTIALS = {"aws_access_key_id": "ddbbench", "aws_secret_access_key": "ddbbench"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


LOCAL_FIXED = "dynamodb-local-fixed"  # the fixed dummy keys above
DEFAULT_CHAIN = "default-chain"  # boto3's chain: environment, profile, container or instance role
KINDS = ("local", "endpoint", "aws")


@dataclass(frozen=True)
class Endpoint:
    """A resolved target: ``kind`` is local (managed or detached), endpoint or aws.

    ``credentials`` names where the keys come from (never the keys): resolved once, with the
    target, so the loader and every load process sign the same way. Example::

        >>> Endpoint("local", "http://127.0.0.1:8000", "us-east-1").to_dict()["credentials"]
        'dynamodb-local-fixed'
    """

    kind: str
    url: str | None
    region: str
    managed: bool = False  # True when this run started DynamoDB Local itself
    credentials: str | None = None  # None: decided here, once (credentials_source)
    profile: str | None = None  # a named profile of the AWS config (--profile): its NAME only

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown target kind {self.kind!r}")  # a bug: kinds come from code
        if self.kind == "local":
            object.__setattr__(self, "profile", None)  # Local takes fixed keys, whatever the profile
        if self.credentials is None or self.kind == "local":
            object.__setattr__(self, "credentials", credentials_source(self.kind, self.url, self.profile))

    def session(self) -> boto3.session.Session:
        """A boto3 session with the standard credential chain (or the named profile)."""
        return boto3.session.Session(profile_name=self.profile) if self.profile else boto3.session.Session()

    @property
    def is_loopback(self) -> bool:
        return self.url is not None and urlparse(self.url).hostname in LOOPBACK

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "region": self.region, "managed": self.managed,
                "credentials": self.credentials, "profile": self.profile}

    def describe(self) -> dict[str, Any]:
        described = self.to_dict()
        if self.kind == "local":  # which build served the run: Local's speed differs by version
            described["server"] = f"DynamoDB Local from npm {local.NPM_PACKAGE} ({local.DIST_NAME})"
        return described

    @classmethod
    def from_dict(cls, doc: dict[str, Any], where: str = "target") -> Endpoint:
        """The endpoint a run directory's manifest records (the resolved hand-off)."""
        kind = doc.get("kind")
        if kind not in KINDS:
            raise UnusableInput(f"{where}.kind: {kind!r} is not a target kind; allowed: {', '.join(KINDS)}")
        return cls(str(kind), doc.get("url"), str(doc.get("region", "us-east-1")),
                   bool(doc.get("managed", False)), doc.get("credentials"), doc.get("profile"))


def credentials_source(kind: str, url: str | None, profile: str | None = None) -> str:
    """Where a target's keys come from, decided once per run.

    DynamoDB Local (kind local) keeps tables per access key, so everything uses the fixed
    keys. A loopback URL (the stub, moto, a Local started by hand) with no credentials in
    the chain gets the fixed keys too: such servers accept any signature.
    """
    if kind == "local":
        return LOCAL_FIXED
    if profile:
        return f"profile {profile}"
    loopback = url is not None and urlparse(url).hostname in LOOPBACK
    if loopback and boto3.session.Session().get_credentials() is None:
        return LOCAL_FIXED
    return DEFAULT_CHAIN


@contextlib.contextmanager
def open_target(target: str, region: str, port: int | None = None,
                start_local: bool = True, profile: str | None = None) -> Iterator[Endpoint]:
    """The one target resolver: a scenario target (or ``--target``) as an ``Endpoint``.

    ``local`` reuses `ddbbench local start`'s server, else starts an in-memory one for the
    duration of the block (``start_local``) or refuses. Everything downstream (the loader, the
    load processes, knee steps) receives the resolved endpoint, never the target text.
    """
    if profile:
        check_profile(profile)
    if target == "aws":
        yield Endpoint("aws", None, region, profile=profile)
    elif target != "local":
        yield Endpoint("endpoint", target, region, profile=profile)
    elif (running := local.read_state()) is not None:
        yield Endpoint("local", running.endpoint, region)
    elif not start_local:
        raise BenchError("target local: no DynamoDB Local is running; start one with "
                         "`ddbbench local start` (and `ddbbench load`), or use `ddbbench run`, "
                         "which manages it")
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
    creds = LOCAL_CREDENTIALS if endpoint.credentials == LOCAL_FIXED else {}
    if cfg.kind == "lean":  # same credentials, endpoint and config; see ddbbench.lean
        session = boto3.session.Session(**creds) if creds else endpoint.session()
        return LeanClient.create(session, endpoint.url, config, cfg, max(pool_size, 10))
    return endpoint.session().client("dynamodb", endpoint_url=endpoint.url, config=config, **creds)


def check_profile(profile: str) -> None:
    """Refuse a profile the AWS config does not have, naming the ones it has."""
    known = boto3.session.Session().available_profiles
    if profile not in known:
        raise ConfigError(f"--profile: {profile!r} is not a profile of the AWS config; "
                          f"known: {', '.join(known) or 'none'}")


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
