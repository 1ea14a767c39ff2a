"""Where ddbbench keeps its caches and reports (overridable by environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """Git-ignored cache for the DynamoDB Local distribution and the local server's state."""
    return Path(os.environ.get("DDBBENCH_CACHE", PROJECT_ROOT / ".cache"))


def reports_dir() -> Path:
    return Path(os.environ.get("DDBBENCH_REPORTS", PROJECT_ROOT / "reports"))


def default_scenarios_file() -> Path:
    return Path(os.environ.get("DDBBENCH_SCENARIOS", PROJECT_ROOT / "scenarios.yaml"))
