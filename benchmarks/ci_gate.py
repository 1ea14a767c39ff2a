"""False-positive rate and power of the CI gate: `ddbbench compare` on runs of the `ci` scenario.

Everything goes through the real command line, as docs/ci-gate.md's CI example does:

- same code: ``runs`` runs of ``ddbbench run -s ci`` (each against its own DynamoDB Local),
  every pair compared (5 runs: 10 pairs). A failing pair is a false alarm; the goal is none.
- a design change that adds index writes: ``--design single-table`` runs against the seed
  runs. Every pair must fail (the capacity gate).
- an added server delay: runs against the stub (``ddbbench.stub``, ``--target`` its URL,
  ``--skip-load``) without delay against runs with ``delay_ms`` added to every request. The
  share of pairs that fail is the latency judgement's power for that change.

    python -m benchmarks.ci_gate --runs 5          # about 20 minutes on 2 cores
    python -m benchmarks.ci_gate --quick           # plumbing only (short runs, few samples)
    python -m benchmarks.ci_gate --root reports/ci-gate-bench-...   # resume: finished runs reused
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ddbbench.paths import reports_dir
from ddbbench.stub import StubServer

GOALS = {"false_alarm_rate": ("<=", 0.0), "design_change_power": (">=", 1.0)}
ROOT = Path(__file__).resolve().parent.parent


def ddbbench(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ddbbench.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ), cwd=ROOT)


def ci_run(root: Path, name: str, duration: float | None, *extra: str) -> Path:
    """One `ddbbench run -s ci` into ``root/name``; its run directory. A run already there
    (a benchmark resumed with ``--root``) is reused when it has its summary."""
    out = root / name
    done = sorted(d for d in out.glob("*") if (d / "summary.json").exists()) if out.exists() else []
    if len(done) == 1:
        print(f"  {name}: {done[0]} (reused)", flush=True)
        return done[0]
    args = ["run", "-s", "ci", "--reports-dir", str(out), *extra]
    if duration is not None:
        args += ["--duration", f"{duration:g}"]
    proc = ddbbench(*args)
    if proc.returncode != 0:
        raise RuntimeError(f"ddbbench {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    (run_dir,) = out.iterdir()
    print(f"  {name}: {run_dir}", flush=True)
    return run_dir


def compare(base: Path, cand: Path, junit: Path) -> dict[str, Any]:
    """The gate's exit code and the names of the checks that failed."""
    proc = ddbbench("compare", str(base), str(cand), "--junit", str(junit))
    failed = []
    if junit.exists():
        failed = [c.get("name", "") for c in ET.parse(junit).getroot().iter("testcase")
                  if c.find("failure") is not None]
    return {"baseline": base.name, "candidate": cand.name, "exit": proc.returncode, "failed": failed,
            "latency_judged": "latency not judged" not in proc.stdout,
            "notes": [line for line in proc.stdout.splitlines()
                      if "not judged" in line or "never sent" in line],
            "error": proc.stderr.strip()[-500:] if proc.returncode == 2 else ""}


def _pairs(root: Path, pairs: list[tuple[Path, Path]], label: str) -> list[dict[str, Any]]:
    results = []
    for k, (a, b) in enumerate(pairs):
        result = compare(a, b, root / f"{label}-{k}.xml")
        print(f"  {label} {a.name} vs {b.name}: exit {result['exit']} {result['failed'][:4]}", flush=True)
        results.append(result)
    return results


def _rate(results: list[dict[str, Any]]) -> float:
    return round(sum(r["exit"] == 1 for r in results) / len(results), 3) if results else 0.0


def run(runs: int = 5, changed: int = 2, duration: float | None = None, delay_ms: float = 2.0,
        root: Path | None = None) -> dict[str, Any]:
    """``runs`` same-code runs and ``changed`` runs per known change; every pair compared."""
    root = root or reports_dir() / f"ci-gate-bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    root.mkdir(parents=True, exist_ok=True)
    print(f"ci gate benchmark: {runs} runs of `ci`, {changed} per change, in {root}", flush=True)
    seed = [ci_run(root, f"seed-{i}", duration) for i in range(runs)]
    single = [ci_run(root, f"single-table-{i}", duration, "--design", "single-table") for i in range(changed)]
    with StubServer(delay_ms=0.0) as stub:
        target = ("--target", stub.endpoint, "--skip-load")
        plain = [ci_run(root, f"stub-{i}", duration, *target) for i in range(changed)]
        stub.configure(delay_ms=delay_ms)
        slow = [ci_run(root, f"stub-delay-{i}", duration, *target) for i in range(changed)]
    same = _pairs(root, list(itertools.combinations(seed, 2)), "same")
    same_stub = _pairs(root, list(itertools.combinations(plain, 2)), "same-stub")
    design = _pairs(root, list(itertools.product(seed[:changed], single)), "design")
    delay = _pairs(root, list(itertools.product(plain, slow)), "delay")
    result = {"benchmark": "ci_gate", "runs": runs, "same_code_pairs": len(same) + len(same_stub),
              "false_alarms": sum(r["exit"] != 0 for r in same + same_stub),
              "false_alarm_rate": _rate(same + same_stub),
              "design_change_pairs": len(design), "design_change_power": _rate(design),
              "delay_ms": delay_ms, "delay_pairs": len(delay), "delay_power": _rate(delay),
              "unusable_pairs": sum(r["exit"] == 2 for r in same + same_stub + design + delay),
              "latency_not_judged_pairs": sum(not r["latency_judged"]
                                              for r in same + same_stub + design + delay),
              "directory": str(root)}
    (root / "ci_gate.json").write_text(json.dumps({**result, "pairs": {
        "same": same, "same_stub": same_stub, "design": design, "delay": delay}}, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ci_gate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="same-code runs (pairs: n(n-1)/2)")
    parser.add_argument("--changed", type=int, default=2, help="runs per known change")
    parser.add_argument("--duration", type=float, help="override the ci scenario's duration_s")
    parser.add_argument("--delay-ms", type=float, default=2.0, help="the stub's added delay")
    parser.add_argument("--quick", action="store_true", help="2 runs, 1 per change, 12 s each")
    parser.add_argument("--root", type=Path, help="resume the benchmark in this folder (its finished "
                        "runs are reused)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.changed, args.duration = 2, 1, 12.0
    result = run(args.runs, args.changed, args.duration, args.delay_ms, args.root)
    print(json.dumps(result, indent=2))
    return 0 if result["false_alarms"] == 0 and result["design_change_power"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
