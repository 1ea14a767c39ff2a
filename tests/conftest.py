"""Shared fixtures: one real DynamoDB Local per test session, isolated caches and reports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddbbench import local
from ddbbench.client import Endpoint, make_client
from ddbbench.scenario import Client

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests first: they are the long ones. With two workers (`make test`:
    `--dist loadgroup`, which hands each worker the next test in this order whenever it has
    two or fewer waiting; `--dist load` gave one worker every end-to-end test in one chunk),
    both start on them and the many short tests fill the gaps at the end (longest first, as a
    greedy schedule wants). Modules with module-scoped fixtures may build them on both."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.fixture(scope="session")
def ddb_local() -> Iterator[local.ServerInfo]:
    """A real DynamoDB Local (Amazon's jar) on a free port, started once per session."""
    server = local.LocalServer()
    info = server.start()
    yield info
    server.stop()


@pytest.fixture(scope="session")
def ddb_client(ddb_local: local.ServerInfo) -> object:
    return make_client(Endpoint("local", ddb_local.endpoint, "us-east-1"), Client())


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache (and detached-server state) of the test's own, sharing the installed jar."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / local.DIST_NAME).symlink_to(local.install())
    monkeypatch.setenv("DDBBENCH_CACHE", str(cache))
    monkeypatch.setenv("DDBBENCH_REPORTS", str(tmp_path / "reports"))
    return cache


def run_cli(*args: str, timeout: float = 240, check: bool = False) -> subprocess.CompletedProcess[str]:
    """The real `ddbbench` command in a subprocess (environment inherited from the test)."""
    proc = subprocess.run([sys.executable, "-m", "ddbbench.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ), cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"ddbbench {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc
