"""The analysis notebooks, and a headless runner for them.

Each notebook reads its run directory from the environment (``DDBBENCH_RUN_DIR``, or
``DDBBENCH_RUN_DIRS`` separated by ``os.pathsep`` for the comparison notebook) and calls only
``analysis`` functions. Run one and keep the executed copy (outputs included) with::

    python -m analysis.notebooks latency_vs_slo reports/<run-id>

nbclient and ipykernel come with the dev extras (``pip install -e '.[dev]'``).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from ddbbench.errors import BenchError, ConfigError

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("latency_vs_slo", "design_comparison", "capacity_planning")
TIMEOUT_S = 300  # per cell


def notebook_path(name: str) -> Path:
    if name not in NOTEBOOKS:
        raise ConfigError(f"notebook {name!r} does not exist; allowed: {', '.join(NOTEBOOKS)}")
    return HERE / f"{name}.ipynb"


def run_env(run_dirs: list[str | Path]) -> dict[str, str]:
    """The variables the notebooks read their run directories from."""
    paths = [str(Path(d).resolve()) for d in run_dirs]
    return {"DDBBENCH_RUN_DIR": paths[0], "DDBBENCH_RUN_DIRS": os.pathsep.join(paths)}


def execute_notebook(name: str, run_dirs: list[str | Path]) -> Any:
    """Execute a notebook headless against ``run_dirs``; return it with its outputs."""
    nbformat = _require("nbformat")
    return execute(nbformat.read(notebook_path(name), as_version=4), run_dirs)


def execute(nb: Any, run_dirs: list[str | Path]) -> Any:
    """Execute a notebook object (nbformat) in place against ``run_dirs``; return it."""
    client_module = _require("nbclient")
    if not run_dirs:
        raise ConfigError("no run directory given; pass one or more reports/<run-id>")
    client = client_module.NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                                          resources={"metadata": {"path": str(HERE.parents[1])}})
    client.execute(env={**os.environ, **run_env(run_dirs)})
    return nb


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise BenchError("running notebooks needs nbformat, nbclient and ipykernel: "
                         "pip install -e '.[dev]'") from None
