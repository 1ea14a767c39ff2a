"""`python -m benchmarks`: run every benchmark, print a table, save JSON under reports/."""

from __future__ import annotations

import json
import operator
import sys
from datetime import UTC, datetime

from benchmarks import replay_overhead
from ddbbench.paths import reports_dir
from ddbbench.rundir import versions

_OPS = {"<=": operator.le, ">=": operator.ge}


def main() -> int:
    results = [replay_overhead.run()]
    verdicts = []
    for result, goals in ((results[0], replay_overhead.GOALS),):
        for metric, (op, bound) in goals.items():
            ok = _OPS[op](result[metric], bound)
            verdicts.append(ok)
            print(f"{result['benchmark']:<16} {metric:<17} {result[metric]:>7}  goal {op} {bound}  "
                  f"{'met' if ok else 'NOT MET'}")
        for key, value in result.items():
            if key not in goals and key != "benchmark":
                print(f"{'':<16} {key:<28} {value}")
    out = reports_dir() / f"benchmarks-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"versions": versions(), "results": results}, indent=2))
    print(f"\nsaved {out}")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
