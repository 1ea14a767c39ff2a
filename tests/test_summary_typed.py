"""The typed summary (analysis.summary): built by summarize_run, written as summary.json
format 3 unchanged, read back from this or an older ddbbench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.metrics import PERCENTILES, summarize, summarize_run
from analysis.rundata import load_run
from analysis.slo import SloSection, Verdict
from analysis.summary import PatternSummary, Summary, pct_key
from ddbbench.errors import UnusableInput
from ddbbench.scenario import Objective, Scenario, Slo
from tests.synthetic import request, write_run


def run_dir(root: Path) -> Path:
    reqs = [("get_conversation", request(1000 + k, at_s=k / 100)) for k in range(1200)]
    reqs += [("update_status", request(800, outcome="throttled", error_code="ThrottlingException"))]
    reqs += [("update_status", request(700 + k, at_s=k / 10)) for k in range(30)]
    slo = Slo(objectives=(Objective("get_conversation", 50.0, 0.6), Objective("update_status", 99.0, 25.0)))
    return write_run(root, "typed", reqs, Scenario(name="unit", slo=slo), interval_s=1.0)


def test_the_typed_summary_is_the_summary_json_document(tmp_path: Path) -> None:
    run = load_run(run_dir(tmp_path))
    typed = summarize_run(run)
    doc = summarize(run)
    assert typed.to_dict() == doc
    # Read back, it writes the same bytes: old and new readers see one format.
    again = Summary.from_dict(json.loads(json.dumps(doc)))
    assert json.dumps(again.to_dict(), indent=2) == json.dumps(doc, indent=2)
    assert isinstance(again.slo, SloSection) and all(isinstance(v, Verdict) for v in again.slo.verdicts)
    row = again.patterns["update_status"]
    assert (row.count, row.successful, row.errors, row.throttled) == (31, 30, 1, 1)
    assert row.percentile_ms(99) == doc["patterns"]["update_status"]["p99_ms"]
    assert [(v.pattern, v.percentile, v.status) for v in again.slo.verdicts] == [
        ("get_conversation", 50.0, "fail"), ("update_status", 99.0, "fail")]
    assert again.slo.verdicts[1].reason == "error rate 3.23% > budget 0.10% (1 of 31 failed)"
    assert (again.overall.count, again.overall.errors, again.overall.slo_met) == (1231, 1, False)
    assert again.generator.counters == {"warmup_requests": 0, "late_starts": 0, "scheduled": 0,
                                        "not_started": 0, "cap_waits": 0}
    assert doc["generator"]["scheduled"] == 0 and "counters" not in doc["generator"]


def test_every_summary_percentile_has_its_field() -> None:
    assert all(hasattr(PatternSummary(), pct_key(p)) for p in PERCENTILES)


def test_an_older_format_3_summary_reads_and_keeps_what_it_does_not_know() -> None:
    doc = {"format": "ddbbench-summary", "format_version": 3, "run_id": "old", "scenario": "smoke",
           "patterns": {"get_conversation": {"count": 5, "successful": 5, "p99_ms": 1.5, "later": 1}},
           "slo": {"percentile": 99.0, "threshold_ms": 10.0, "error_budget": 0.001, "min_beyond": 10,
                   "objectives": [], "verdicts": [], "patterns": {}, "pattern_status": {},
                   "met": False, "status": "fail"},
           "someday": {"a": 1}}
    s = Summary.from_dict(doc)
    row = s.patterns["get_conversation"]
    assert (row.p99_ms, row.errors, row.extra) == (1.5, 0, {"later": 1})
    assert s.to_dict()["someday"] == {"a": 1} and s.to_dict()["patterns"]["get_conversation"]["later"] == 1


def test_another_summary_format_is_refused_naming_it() -> None:
    with pytest.raises(UnusableInput, match="summary format 'ddbbench-summary' version 2; readable: "
                                            "ddbbench-summary 3"):
        Summary.from_dict({"format": "ddbbench-summary", "format_version": 2})


def test_a_summary_missing_a_verdict_field_is_refused_naming_it() -> None:
    doc = {"format": "ddbbench-summary", "format_version": 3,
           "slo": {"percentile": 99.0, "threshold_ms": 10.0, "error_budget": 0.001, "min_beyond": 10,
                   "objectives": [], "verdicts": [{"pattern": "get_conversation"}], "patterns": {},
                   "pattern_status": {}, "met": None, "status": "insufficient"}}
    with pytest.raises(UnusableInput, match="summary: unreadable \\(missing 'requests'\\)"):
        Summary.from_dict(doc)
