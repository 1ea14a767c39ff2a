"""``python -m analysis.notebooks NAME RUN_DIR [RUN_DIR ...] [--out FILE]``: execute a notebook
headless and write the executed copy (default: NAME.ipynb in the first run directory)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.notebooks import NOTEBOOKS, execute_notebook
from ddbbench.errors import BenchError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.notebooks", description=__doc__)
    parser.add_argument("name", choices=NOTEBOOKS)
    parser.add_argument("run_dirs", nargs="+", help="run directories (reports/<run-id>)")
    parser.add_argument("--out", help="where to write the executed notebook")
    args = parser.parse_args(argv)
    try:
        nb = execute_notebook(args.name, args.run_dirs)
    except BenchError as exc:
        print(f"ddbbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    import nbformat  # present: execute_notebook needed it

    out = Path(args.out) if args.out else Path(args.run_dirs[0]) / f"{args.name}.ipynb"
    nbformat.write(nb, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
