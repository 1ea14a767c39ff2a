"""Run directories: ``reports/<run-id>/``, self-describing and versioned.

Layout (format version 2; see docs/run-directory.md; version 1 is still read)::

    manifest.json          what ran: scenario, seed, target, versions, load, locust command
    histograms/<proc>.json per load process (``ddbbench.runformat``): HDR histograms (us) per
                           pattern, outcome class and interval, capacity per table and index
    requests/<proc>.csv    per load process: one row per request
    locust.log             the load processes' own output
    summary.json           derived: per-pattern percentiles and SLO verdicts
    report.html            derived: verdict table and charts
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ddbbench import __version__
from ddbbench.errors import UnusableInput
from ddbbench.paths import PROJECT_ROOT

FORMAT = "ddbbench-run"
FORMAT_VERSION = 2  # new runs; 1 and 2 are read (version 2 changed the histograms files)
READABLE_VERSIONS = (1, 2)
_PACKAGES = ("boto3", "botocore", "locust", "faker", "hdrhistogram", "pandas", "matplotlib")


def new_run_id(scenario: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{scenario}-{secrets.token_hex(3)}"


def create_run_dir(root: Path, scenario: str, name: str | None = None) -> Path:
    path = Path(root) / (name or new_run_id(scenario))
    path.mkdir(parents=True, exist_ok=False)
    return path


def versions() -> dict[str, str]:
    found = {"ddbbench": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def base_manifest(run_dir: Path, scenario: dict[str, Any], target: dict[str, Any],
                  source: str) -> dict[str, Any]:
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "run_id": Path(run_dir).name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "status": "running",
        "scenario": scenario,
        "seed": scenario["dataset"]["seed"],
        "target": target,
        "versions": versions(),
        "git_commit": git_commit(),
        "host": {"hostname": platform.node(), "platform": platform.platform(),
                 "cpus": _cpu_count()},
    }


def _cpu_count() -> int:
    return os.cpu_count() or 1


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    path = Path(run_dir) / "manifest.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False))
    tmp.replace(path)


def update_manifest(run_dir: Path, **changes: Any) -> dict[str, Any]:
    manifest = read_manifest(run_dir)
    manifest.update(changes)
    write_manifest(run_dir, manifest)
    return manifest


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a run directory of a readable version; UnusableInput (exit 2) if none."""
    path = Path(run_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise UnusableInput(f"{run_dir}: not a run directory (no manifest.json)") from None
    except ValueError as exc:
        raise UnusableInput(f"{path}: unreadable manifest ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") not in READABLE_VERSIONS:
        raise UnusableInput(f"{path}: format {manifest.get('format')!r} version "
                            f"{manifest.get('format_version')!r} is not supported ({FORMAT} "
                            f"{' or '.join(map(str, READABLE_VERSIONS))}); re-run, or refresh "
                            "the baseline")
    return manifest
