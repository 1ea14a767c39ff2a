"""Find-the-knee: the verdicts on fixed step summaries, and knee runs against the stub."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from analysis.knee import achieved_rps, judge_step, knee_figure, knee_markdown, knee_result, step_record
from analysis.knee_steps import KneeStep
from analysis.slo import SloSection, Verdict
from analysis.summary import GeneratorHealth, Overall, PatternSummary, Summary
from ddbbench.errors import ConfigError
from ddbbench.knee import knee_rates, measured_seconds, step_scenario, write_step_scenario
from ddbbench.scenario import load_scenario, load_scenarios
from ddbbench.stub import StubServer
from tests.conftest import ROOT, run_cli

SLO = {"percentile": 99.0, "threshold_ms": 10.0}


def summary(p99: float = 5.0, errors: int = 0, cpu: float = 30.0, count: int = 2000,
            samples: int = 20) -> Summary:
    """A step's summary as analysis.metrics makes it (only the fields the knee reads)."""
    met = p99 < SLO["threshold_ms"]
    row = PatternSummary(count=count, successful=count, errors=errors, error_rate=errors / count, p50_ms=2.0,
                         slo_met=met)
    verdict = Verdict("get_conversation", count, count, errors, errors / count, SLO["percentile"],
                      SLO["threshold_ms"], 0.001, p99, None, "pass" if met else "fail", met, None, "", 1000)
    slo = SloSection(SLO["percentile"], SLO["threshold_ms"], 0.001, 10, [], [verdict], {}, {}, met, "")
    generator = GeneratorHealth([{"cpu_mean_pct": cpu, "samples": samples}], 80.0, cpu > 80,
                                {"cap_waits": 0, "not_started": 0}, 60.0, trustworthy=samples > 0)
    return Summary(run_id="r", slo=slo, patterns={"get_conversation": row},
                   overall=Overall(count=count, errors=errors), generator=generator)


def step(rate: float, budget: float = 0.01, **kw: Any) -> KneeStep:
    record = step_record(1, rate, 20.0, summary(**kw), {"p50_ms": 2.0, "p99_ms": kw.get("p99", 5.0)})
    return dataclasses.replace(record, verdict=judge_step(record, budget))


def verdict_of(rate: float, budget: float = 0.01, **kw: Any) -> dict[str, Any]:
    verdict = step(rate, budget, **kw).verdict
    assert verdict is not None
    return verdict.to_dict()


def test_a_step_passes_only_when_slo_errors_and_generator_all_pass() -> None:
    assert verdict_of(100) == {"status": "pass", "reasons": []}
    slow = verdict_of(100, p99=12.5)
    assert slow["status"] == "fail"
    assert slow["reasons"] == ["get_conversation: p99 12.500 ms >= 10 ms"]
    errors = verdict_of(100, errors=30)  # 1.5% > 1%
    assert errors["status"] == "fail" and errors["reasons"] == ["error rate 1.50% > budget 1.00%"]
    assert verdict_of(100, errors=30, budget=0.02)["status"] == "pass"
    assert verdict_of(100, errors=20)["status"] == "pass"  # exactly 1%: within the budget
    both = verdict_of(100, p99=50.0, errors=100)
    assert both["status"] == "fail" and len(both["reasons"]) == 2


def test_a_step_with_too_few_requests_is_not_judged() -> None:
    few = summary(count=18)
    assert few.slo is not None
    few.slo.verdicts[0] = dataclasses.replace(few.slo.verdicts[0], met=None, status="insufficient",
                                              reason="not enough data (n=18; p99 needs 1,000)")
    few.patterns["get_conversation"].slo_met = None
    record = step_record(1, 5.0, 20.0, few, {"p50_ms": 2.0, "p99_ms": 5.0})
    verdict = judge_step(record, 0.001)
    assert verdict.to_dict() == {"status": "insufficient",
                                 "reasons": ["get_conversation: not enough data (n=18; p99 needs 1,000)"]}
    result = knee_result([step(2), dataclasses.replace(record, verdict=verdict)], 10, True)
    assert result.outcome == "insufficient_data" and result.highest_passing_rps == 2
    assert "lengthen the steps (--step-s)" in result.message


def test_the_default_error_budget_is_the_products() -> None:
    from analysis.knee import DEFAULT_ERROR_BUDGET
    from ddbbench.cli import build_parser

    assert DEFAULT_ERROR_BUDGET == 0.001
    args = build_parser().parse_args(["knee", "-s", "smoke", "--start", "1", "--step", "1", "--max", "2"])
    assert args.error_budget == 0.001


def test_a_saturated_generator_is_neither_a_pass_nor_an_slo_failure() -> None:
    fast = verdict_of(900, cpu=91.0)  # latencies fine, but measured by a saturated client
    assert fast["status"] == "saturated" and "91% of a core" in fast["reasons"][0]
    assert verdict_of(900, cpu=91.0, p99=40.0)["status"] == "saturated"
    assert verdict_of(900, samples=0)["status"] == "saturated"  # CPU never sampled
    assert verdict_of(900, cpu=79.0)["status"] == "pass"


def test_the_knee_is_the_highest_pass_before_the_first_failure() -> None:
    steps = [step(50), step(100), step(150), step(200, p99=30.0)]
    result = knee_result(steps, 300, finished=True)
    assert (result.outcome, result.highest_passing_rps, result.first_failing_rps) == ("knee_found", 150, 200)
    assert "150 requests/s" in result.message and "200 requests/s failed" in result.message


def test_knee_outcomes_at_the_edges() -> None:
    below = knee_result([step(50, p99=11.0)], 300, finished=True)
    assert (below.outcome, below.highest_passing_rps) == ("below_start", None)
    assert "start lower" in below.message
    above = knee_result([step(50), step(100)], 100, finished=True)
    assert (above.outcome, above.highest_passing_rps) == ("not_reached", 100)
    assert "raise --max" in above.message
    saturated = knee_result([step(50), step(100, cpu=95.0)], 300, finished=True)
    assert (saturated.outcome, saturated.highest_passing_rps) == ("generator_saturated", 50)
    assert "not measured beyond 50 requests/s" in saturated.message
    assert "--processes" in saturated.message
    stopped = knee_result([step(50)], 300, finished=False)
    assert (stopped.outcome, stopped.highest_passing_rps) == ("interrupted", 50)


def test_completed_throughput_counts_only_what_finished_while_arrivals_came() -> None:
    # 100 arrivals, 10 ms apart (1 s); the server completes one per 20 ms: it falls behind.
    rows = pd.DataFrame({"start_unix_us": [i * 20_000 for i in range(100)],
                         "schedule_lag_us": [i * 10_000 for i in range(100)],
                         "service_us": [20_000] * 100})
    # Intended starts span 0 .. 990 ms; completions at 20, 40, ... ms: 49 by 990 ms.
    assert achieved_rps(rows) == pytest.approx(49 / 0.99)
    assert achieved_rps(rows, total=200) == pytest.approx(2 * 49 / 0.99)  # rows are a 1/2 sample
    assert achieved_rps(rows.iloc[:0]) is None


def test_rates_are_validated() -> None:
    assert knee_rates(20, 20, 100) == [20, 40, 60, 80, 100]
    assert knee_rates(30, 90, 300) == [30, 120, 210, 300]
    assert knee_rates(0.5, 0.1, 0.8) == [0.5, 0.6, 0.7, 0.8]
    with pytest.raises(ConfigError, match=r"--max: 10 is not a rate >= --start \(20\)"):
        knee_rates(20, 5, 10)
    with pytest.raises(ConfigError, match="--step: 0 is not a rate > 0"):
        knee_rates(20, 0, 100)
    with pytest.raises(ConfigError, match="at most 50"):
        knee_rates(1, 1, 1000)


def test_a_step_is_an_open_model_scenario_locust_reads_back(tmp_path: Path) -> None:
    sc = load_scenario(ROOT / "scenarios.yaml", "baseline")  # a closed-model scenario
    sc_step = step_scenario(sc, 150.0, step_s=20, settle_s=3)
    assert (sc_step.load.model, sc_step.load.arrival_rate, sc_step.load.run_time_s) == ("open", 150.0, 23.0)
    assert sc_step.load.warmup_s == 3 and sc_step.mix == sc.mix and sc_step.slo == sc.slo
    path = write_step_scenario(tmp_path, sc_step)
    assert load_scenarios(path) == {"baseline": sc_step}
    assert measured_seconds(20, 3) == 20 and measured_seconds(2.5, 1) == 3  # Locust runs whole seconds


def knee_doc(steps: list[KneeStep]) -> dict[str, Any]:
    return {"scenario": "s", "slo": SLO, "steps": [s.to_dict() for s in steps],
            "result": knee_result(steps, 300, True).to_dict(),
            "settings": {"error_budget": 0.01, "step_s": 20, "settle_s": 5}}


def test_markdown_and_chart_show_every_step() -> None:
    steps = [dataclasses.replace(step(50), index=1, achieved_rps=49.5),  # steps[1]: no raw rows
             dataclasses.replace(step(100, p99=30.0), index=2, machine_cpu_mean_pct=96.0)]
    md = knee_markdown(knee_doc(steps))
    assert "whole machine 96% busy" in md and "whole machine 60%" not in md
    assert "**highest rate that met the SLO and the error budget: 50 requests/s" in md
    assert "| 1 | 50 |" in md and "| 2 | 100 |" in md and "FAIL" in md
    assert "p99 30.000 ms >= 10 ms" in md
    fig = knee_figure(knee_doc(steps))
    assert isinstance(fig, Figure)
    lat, thr = fig.axes
    assert [ln.get_ydata()[1] for ln in lat.lines[:3]] == [2.0, 30.0, 30.0]  # p50, p99, worst
    assert any(ln.get_ydata()[0] == 10.0 for ln in lat.lines)  # the SLO line
    knee_line, completed, offered = thr.lines
    assert list(offered.get_ydata()) == [50, 100] and completed.get_ydata()[0] == 49.5
    assert list(knee_line.get_xdata()) == [50, 50]  # the knee: the highest passing rate
    assert "| 1 | 50 | 49.5 |" in md and "| 2 | 100 | n/a |" in md


# --- end to end against the stub -----------------------------------------------------------

def knee_scenarios(tmp_path: Path) -> Path:
    body = {"dataset": {"seed": 1, "candidates": 50, "conversations": 200},
            "mix": {"get_conversation": 1, "query_by_candidate_status": 0, "update_status": 0,
                    "append_message": 0},
            "client": {"max_attempts": 1},
            # 4 requests in flight of >= 40 ms each: the stub serves at most 100 requests/s
            # (less with the client's own time, which grows on a busy machine), whatever is offered.
            "load": {"warmup_requests": 0, "max_in_flight": 4, "calibration_requests": 20},
            # p50: judged with 20 requests (ddbbench.objectives.judgeable), which a 3 s step at 10
            # requests/s has; a p99 would need 1,000 per step.
            "slo": {"percentile": 50, "threshold_ms": 250}}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": {"k": body}}))
    return path


def knee_cli(stub: StubServer, scenarios: Path, tmp_path: Path, *rates: str) -> tuple[Any, dict[str, Any]]:
    proc = run_cli("knee", "--scenarios-file", str(scenarios), "-s", "k", "--target", stub.endpoint,
                   "--skip-load", "--yes", *rates, "--step-s", "3", "--settle-s", "1",
                   "--reports-dir", str(tmp_path / "reports"), timeout=180)
    (knee_dir,) = (tmp_path / "reports").iterdir()
    return proc, json.loads((knee_dir / "knee.json").read_text()) | {"dir": str(knee_dir)}


@pytest.mark.e2e
def test_the_knee_lands_where_the_server_saturates(isolated_cache: Path, tmp_path: Path) -> None:
    with StubServer(delay_ms=40) as stub:
        proc, knee = knee_cli(stub, knee_scenarios(tmp_path), tmp_path, "--start", "10", "--step", "30",
                              "--max", "160")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The stub serves at most 100 requests/s. 10, 40 and 70/s fit under that ceiling, even when
    # a busy machine triples the client's own time per request; 100/s sits on it (passes or
    # fails with that time); 130/s is far over it: arrivals queue for seconds. So the search
    # stops at 100 or 130 and 160 is never run.
    offered = [s["offered_rps"] for s in knee["steps"]]
    assert offered in ([10, 40, 70, 100], [10, 40, 70, 100, 130]), offered
    assert [s["verdict"]["status"] for s in knee["steps"]] == ["pass"] * (len(offered) - 1) + ["fail"]
    highest = knee["result"]["highest_passing_rps"]
    assert knee["result"]["outcome"] == "knee_found" and highest == offered[-2]
    over = knee["steps"][-1]
    assert over["achieved_rps"] < 105 and over["worst_slo_ms"] > 250  # the stub's ceiling, not the offer
    # Under its ceiling the server completes what arrives, less (by achieved_rps' definition:
    # completed while arrivals came) the requests of the window's last response time, which
    # complete after it: a few percent of a 2 s window, more on a busy machine (37.98 seen).
    under = knee["steps"][1]
    late_s = under["p99_ms"] / 1000  # over every pattern, from the intended start
    assert 40 * (1 - late_s / under["measured_s"]) * 0.95 <= under["achieved_rps"] <= 40 * 1.05, under
    knee_dir = Path(knee["dir"])
    assert f"highest rate that met the SLO and the error budget: {highest:g} requests/s" in proc.stdout
    assert (knee_dir / "knee.png").stat().st_size > 0 and (knee_dir / "knee.md").exists()
    # Each step is a normal run directory: its own summary, and a plan can be made of it.
    step_dir = Path(knee["steps"][1]["run_dir"])
    step_summary = json.loads((step_dir / "summary.json").read_text())
    assert step_summary["overall"]["count"] == knee["steps"][1]["count"]
    manifest = json.loads((step_dir / "manifest.json").read_text())
    assert manifest["knee"]["offered_rps"] == 40 and manifest["scenario"]["load"]["arrival_rate"] == 40
    plan = run_cli("plan", str(step_dir), "--total-rps", "100")
    assert plan.returncode == 0, plan.stderr
    assert "item size not measured (the run loaded no data)" in plan.stdout  # --skip-load


@pytest.mark.e2e
def test_a_knee_below_the_first_step_is_reported_as_such(isolated_cache: Path, tmp_path: Path) -> None:
    with StubServer(delay_ms=300) as stub:  # every request alone exceeds the 250 ms SLO
        proc, knee = knee_cli(stub, knee_scenarios(tmp_path), tmp_path, "--start", "10", "--step", "5",
                              "--max", "20")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(knee["steps"]) == 1 and knee["steps"][0]["verdict"]["status"] == "fail"
    assert knee["result"]["outcome"] == "below_start" and knee["result"]["highest_passing_rps"] is None
    assert "no step met the SLO: the first, 10 requests/s, failed" in proc.stdout
