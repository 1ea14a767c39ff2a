"""Shared fixtures: one real DynamoDB Local per test session, isolated caches and reports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ddbbench import local
from ddbbench.client import Endpoint, make_client
from ddbbench.scenario import Client

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first: end-to-end tests, then integration tests, then unit tests. With several
    workers (`make test`: `--dist loadgroup`, which hands each worker the next unit of work in
    this order; `--dist load` gave one worker every end-to-end test in one chunk) all start on
    the long ones and the many short tests fill the gaps at the end, as a greedy schedule wants.
    A module whose module-scoped fixture is expensive names an ``xdist_group``: its tests are
    one unit of work, so the fixture is built once instead of on every worker."""
    items.sort(key=lambda item: (item.get_closest_marker("e2e") is None,
                                 item.get_closest_marker("integration") is None))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run with ``xdist_group`` marks silently ignored: pytest 9.2 with xdist 3.8
    split every group across workers (each worker then built the group's fixtures)."""
    if getattr(session.config.option, "loadgroup", False):
        lost = [i.nodeid for i in session.items
                if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
        if lost:
            raise pytest.UsageError(f"xdist_group not applied to {lost[0]} (pytest {pytest.__version__} "
                                    "with this pytest-xdist): see the pin in pyproject.toml")


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


def shipped_scenario(tmp_path: Path, name: str, *, dataset: dict[str, Any] | None = None,
                     **load: Any) -> Path:
    """A scenarios file holding the shipped scenario ``name`` alone, with these ``load`` (and
    ``dataset``) settings changed: what a test needs of it, the rest as users get it."""
    scenario = yaml.safe_load((ROOT / "scenarios.yaml").read_text())["scenarios"][name]
    scenario["load"].update(load)
    scenario["dataset"].update(dataset or {})
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {name: scenario}}))
    return path
