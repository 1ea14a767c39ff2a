"""The analysis notebooks execute headless against small real runs (DynamoDB Local, through the CLI)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest
import yaml

from analysis.notebooks import HERE, NOTEBOOKS, execute, execute_notebook, notebook_path
from ddbbench import local
from ddbbench.errors import ConfigError
from tests.conftest import run_cli

# e2e: its fixture runs `ddbbench run` twice (about a minute, so it starts with the long tests).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("notebooks")]  # one small_runs

# Small but real: all six patterns, quarter-second histogram intervals so that ~6 measured
# seconds give enough blocks for confidence intervals of p50 and p90 (not of p99): about 24,
# and still well over the 10 needed when a busy machine starts Locust a second or two late
# (half-second intervals gave 12, and fewer than 10 on a loaded machine).
SCENARIO = {
    "dataset": {"seed": 5, "candidates": 40, "conversations": 150, "jobs": 5,
                "messages": {"min": 1, "max": 4}},
    "tables": {"conversations": "Conv-nb", "status_index": "idx-nb", "candidates": "Cand-nb"},
    "mix": {"get_conversation": 30, "query_by_candidate_status": 20, "update_status": 15,
            "append_message": 15, "batch_get_candidates": 10, "create_conversation": 10},
    "load": {"users": 2, "spawn_rate": 2, "duration_s": 7, "rate_per_user": 15, "warmup_requests": 100,
             "warmup_s": 1, "calibration_requests": 20},
    "measurement": {"interval_s": 0.25},
    "slo": {"objectives": [{"pattern": "get_conversation", "percentile": 90, "threshold_ms": 50}]},
}


@pytest.fixture(scope="module")
def small_runs(ddb_local: local.ServerInfo, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two runs of one small scenario (the second on the tables the first loaded)."""
    root = tmp_path_factory.mktemp("notebook-runs")
    scenarios = root / "scenarios.yaml"
    scenarios.write_text(yaml.safe_dump({"version": 1, "scenarios": {"nb": SCENARIO}}))
    reports = root / "reports"
    for extra in ((), ("--skip-load",)):
        run_cli("run", "--scenarios-file", str(scenarios), "-s", "nb", "--target", ddb_local.endpoint,
                "--reports-dir", str(reports), "--yes", *extra, timeout=240, check=True)
    return sorted(reports.iterdir())


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_and_draws(name: str, small_runs: list[Path]) -> None:
    nb = execute_notebook(name, small_runs if name == "design_comparison" else small_runs[:1])
    outs = outputs(nb)
    assert not [o for o in outs if o["output_type"] == "error"]
    assert not [o for o in outs if o.get("name") == "stderr"], [o["text"] for o in outs if o.get("name")]
    figures = [o for o in outs if "image/png" in o.get("data", {})]
    figure_cells = sum("figure(" in c.source for c in nb.cells if c.cell_type == "code")
    assert len(figures) == figure_cells > 0  # each chart drawn once


def test_notebooks_agree_with_the_runs_summaries(small_runs: list[Path]) -> None:
    """The notebook's numbers are the report's: same functions, same seeded intervals."""
    nb = nbformat.read(notebook_path("latency_vs_slo"), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import json\nprint(json.dumps(summary['slo']))"))
    printed = execute(nb, small_runs[:1]).cells[-1].outputs[0]["text"]
    written = json.loads((small_runs[0] / "summary.json").read_text())
    assert json.loads(printed) == written["slo"]
    row = written["patterns"]["get_conversation"]
    assert row["ci"]["p50_ms"] is not None and row["ci"]["p99_9_ms"] is None  # the fixture's intent
    capacity = nbformat.read(notebook_path("capacity_planning"), as_version=4)
    capacity.cells.append(nbformat.v4.new_code_cell("print(projection.to_json(orient='records'))"))
    rows = json.loads(execute(capacity, small_runs[:1]).cells[-1].outputs[0]["text"])
    get = next(r for r in rows if r["pattern"] == "get_conversation")
    assert get["table_units_per_s"] == pytest.approx(400 * row["capacity_per_request"])


def test_stored_notebooks_have_parameters_and_no_outputs_and_only_call_analysis() -> None:
    for name in NOTEBOOKS:
        nb = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), name
        assert "parameters" in code[0].metadata.get("tags", []) and "os.environ" in code[0].source
        assert any("ddbbench plan" in c.source for c in nb.cells) == (name == "capacity_planning")
        for cell in code:  # no copied logic: imports from analysis only, no functions of their own
            tree = ast.parse("\n".join(line for line in cell.source.splitlines()
                                       if not line.startswith("%")))
            for node in ast.walk(tree):
                assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda), (name, cell.source)
                if isinstance(node, ast.ImportFrom):
                    assert node.module.split(".")[0] == "analysis", (name, node.module)
                if isinstance(node, ast.Import):
                    assert [a.name for a in node.names] == ["os"], (name, cell.source)


def test_runner_refuses_unknown_notebooks_and_missing_runs() -> None:
    with pytest.raises(ConfigError, match="notebook 'latency' does not exist; allowed: latency_vs_slo"):
        notebook_path("latency")
    with pytest.raises(ConfigError, match="no run directory given"):
        execute(nbformat.v4.new_notebook(), [])
