"""Run directories written by the real recorder from chosen requests (no database)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ddbbench.execute import Result
from ddbbench.recorder import Recorder
from ddbbench.rundir import base_manifest, write_manifest
from ddbbench.scenario import Scenario

T0 = 1_790_000_000 * 10**9  # a fixed wall-clock instant, in ns, aligned to 5 s intervals


def request(latency_us: float, at_s: float = 0.0, outcome: str = "ok", **kw: Any) -> Result:
    """A request that started ``at_s`` seconds after T0 and took ``latency_us``."""
    return Result(T0 + int(at_s * 1e9), round(latency_us * 1000), outcome, **kw)


def write_run(root: Path, name: str, requests: Iterable[tuple[str, Result]],
              scenario: Scenario | None = None, interval_s: float = 5.0,
              manifest_extra: dict[str, Any] | None = None, raw_fraction: float = 1.0) -> Path:
    """A run directory holding ``requests`` (pattern, result) of one load process."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    scenario = scenario or Scenario(name="unit")
    manifest = base_manifest(run_dir, scenario.to_dict(), {"kind": "test"}, source="test")
    write_manifest(run_dir, {**manifest, **(manifest_extra or {})})
    rec = Recorder(run_dir, "p0", interval_s=interval_s, raw_fraction=raw_fraction,
                   test_start_unix_s=T0 / 1e9)
    for pattern, r in requests:
        rec.record(pattern, r)
    rec.sample_cpu(20.0)
    rec.close()
    return run_dir
