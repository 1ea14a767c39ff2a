"""Run-directory schema v2 (ddbbench/runformat.py): round trips, merging, version 1, refusals."""

from __future__ import annotations

import doctest
import json
import types
from pathlib import Path

import pytest

from analysis.metrics import summarize
from analysis.rundata import load_run
from ddbbench import patternrecord, runformat
from ddbbench.cli import main
from ddbbench.errors import UnusableInput
from ddbbench.execute import Result
from ddbbench.recorder import Recorder
from ddbbench.rundir import base_manifest, write_manifest
from ddbbench.runformat import (
    ConsumedCapacity,
    GeneratorCounters,
    LatencyStats,
    PatternRecord,
    ProcessRecord,
    encode,
    from_v1,
    new_histogram,
    read_process_file,
    split_capacity_name,
    write_process_file,
)
from ddbbench.scenario import Scenario

T0_S = 1_790_000_000  # test start (unix s), on the 5 s grid
T0 = T0_S * 10**9


def result(latency_us: int, at_s: float, outcome: str = "ok", **kw: object) -> Result:
    return Result(T0 + int(at_s * 1e9), latency_us * 1000, outcome, **kw)  # type: ignore[arg-type]


REQUESTS = [
    ("append_message", result(2000, 0.5, capacity=1.0, index_capacity=0.5,
                              capacity_by=(("Conv", 1.0), ("Conv/byCandidate", 0.5)),
                              items_written=1, bytes_written=321)),
    ("append_message", result(4000, 6.0, capacity=2.0, capacity_by=(("Conv", 2.0),),
                              items_written=1, bytes_written=654)),
    ("append_message", result(300, 7.0, "throttled", error_code="ThrottlingException", retries=2)),
    ("get_conversation", result(1000, 1.0, capacity=0.5, capacity_by=(("Conv", 0.5),), items=1)),
    ("get_conversation", result(100, 12.0, "connection", error_code="EndpointConnectionError")),
]


def record_of(requests: list[tuple[str, Result]], label: str = "p0") -> ProcessRecord:
    rec = Recorder(Path("/nonexistent"), label, raw=False, test_start_unix_s=T0_S, client="boto3")
    for pattern, r in requests:
        rec.record(pattern, r)
    rec.sample_cpu(30.0, 50.0)
    return rec.to_record({"counters": {"scheduled": 5, "late_starts": 1}, "model": "open",
                          "note": {"by": "a newer writer"}})


def test_v2_round_trip_keeps_every_field(tmp_path: Path) -> None:
    rec = record_of(REQUESTS)
    doc = rec.to_dict()
    assert (doc["format"], doc["format_version"], doc["client"], doc["test_start_unix_s"]) == (
        "ddbbench-measurements", 2, "boto3", T0_S)
    append = doc["patterns"]["append_message"]
    assert append["outcomes"] == {"ok": 2, "throttled": 1}
    assert {k: (v["count"], v["min_ns"], v["max_ns"], v["sum_ns"]) for k, v in append["latency"].items()} == {
        "ok": (2, 2_000_000, 4_000_000, 6_000_000), "throttled": (1, 300_000, 300_000, 300_000)}
    # Intervals by completion time, seconds since the test start; ok and failed apart.
    assert [(iv["start_s"], sorted(k for k in iv if k != "start_s")) for iv in append["intervals"]] == [
        (0.0, ["ok"]), (5.0, ["failed", "ok"])]
    assert append["consumed_capacity"] == {"table_units": 3.0, "index_units": 0.5,
                                           "by_name": {"Conv": 3.0, "Conv/byCandidate": 0.5}}
    assert (append["items_written"], append["bytes_written"], append["retries"]) == (2, 975, 2)
    assert doc["counters"] == {"warmup_requests": 0, "late_starts": 1, "scheduled": 5,
                               "not_started": 0, "cap_waits": 0}
    assert doc["extra"] == {"note": {"by": "a newer writer"}}  # kept, not interpreted
    assert ProcessRecord.from_dict(doc) == rec
    assert ProcessRecord.from_dict(json.loads(json.dumps(doc))) == rec
    path = write_process_file(tmp_path / "histograms" / "p0.json", rec)
    assert read_process_file(path) == rec


def test_merging_two_process_records_equals_one() -> None:
    one = record_of(REQUESTS)
    halves = [record_of(REQUESTS[0::2], "a"), record_of(REQUESTS[1::2], "b")]
    for name, expected in one.patterns.items():
        merged = PatternRecord()
        for half in halves:
            if name in half.patterns:
                merged.merge(half.patterns[name])
        assert merged == expected, name


def test_intervals_of_processes_with_later_clocks_are_snapped_to_the_run_grid() -> None:
    data = PatternRecord(intervals={0.0: {"ok": new_histogram()}, 5.0: {"ok": new_histogram()}})
    # This process's test started 0.2 s after the run's: its interval 0 is the run's 0.
    assert list(data.shifted(0.2, 5.0)) == [0.0, 5.0]
    assert list(data.shifted(5.1, 5.0)) == [5.0, 10.0]


def test_capacity_names_and_counters() -> None:
    assert split_capacity_name("Conv/byCandidate") == ("Conv", "byCandidate")
    assert split_capacity_name("Conv") == ("Conv", None)
    c = ConsumedCapacity()
    c.add(1.0, 0.5, (("T", 1.0), ("T/ix", 0.5)))
    c.merge(c)
    assert c.to_dict() == {"table_units": 2.0, "index_units": 1.0, "by_name": {"T": 2.0, "T/ix": 1.0}}
    with pytest.raises(ValueError, match="unknown counters"):
        GeneratorCounters.from_dict({"typo": 1})


def v1_doc() -> dict[str, object]:
    """A version-1 process file as the version-1 recorder wrote it (failures mixed in)."""
    hist, iv0, iv1 = new_histogram(), new_histogram(), new_histogram()
    for value, iv in ((5000, iv0), (5000, iv0), (100, iv1)):
        hist.record_value(value)
        iv.record_value(value)
    return {"format_version": 1, "label": "old", "pid": 1, "host": "h", "unit": "us",
            "significant_digits": 3, "interval_s": 5.0, "raw_fraction": 1.0,
            "started_unix_s": T0_S + 1.5, "ended_unix_s": T0_S + 11.5,
            "cpu_samples": [[T0_S + 3.0, 20.0]], "machine_cpu_samples": [], "machine_cpus": 2,
            "counters": {"warmup_requests": 4, "late_starts": 0, "scheduled": 0, "not_started": 0,
                         "cap_waits": 0}, "model": "closed",
            "patterns": {"get_conversation": {
                "count": 3, "min_ns": 100_000, "max_ns": 5_000_000, "sum_ns": 10_100_000, "clamped": 0,
                "retries": 0, "capacity": 1.0, "index_capacity": 0.0, "items": 2,
                "response_bytes": 1800, "schedule_lag_ns": 0, "late": 0,
                "outcomes": {"ok": 2, "connection": 1}, "error_codes": {"EndpointConnectionError": 1},
                "hist": encode(hist), "intervals": [{"start_unix_s": T0_S, "hist": encode(iv0)},
                                                    {"start_unix_s": T0_S + 5.0, "hist": encode(iv1)}]}}}


def test_a_version_1_file_reads_as_mixed_outcomes() -> None:
    rec = from_v1(v1_doc())
    assert (rec.format_version, rec.test_start_unix_s, rec.started_s, rec.ended_s) == (1, T0_S, 1.5, 11.5)
    assert rec.cpu_samples == [(3.0, 20.0)] and rec.counters.warmup_requests == 4
    data = rec.patterns["get_conversation"]
    assert data.mixed_outcomes and data.success_key == "all"
    assert data.latency["all"] == LatencyStats(data.latency["all"].hist, 3, 100_000, 5_000_000, 10_100_000)
    assert list(data.intervals) == [0.0, 5.0]
    assert data.consumed == ConsumedCapacity(1.0, 0.0, {})


def v1_run_dir(root: Path, doc: dict[str, object]) -> Path:
    run_dir = root / "old"
    (run_dir / "histograms").mkdir(parents=True)
    manifest = base_manifest(run_dir, Scenario(name="unit").to_dict(), {"kind": "test"}, source="test")
    write_manifest(run_dir, {**manifest, "format_version": 1})
    (run_dir / "histograms" / "old.json").write_text(json.dumps(doc))
    return run_dir


def test_a_version_1_run_directory_is_summarized_with_its_numbers_kept(tmp_path: Path) -> None:
    run_dir = v1_run_dir(tmp_path, v1_doc())
    summary = summarize(load_run(run_dir))
    row = summary["patterns"]["get_conversation"]
    assert (row["count"], row["errors"], row["mixed_outcomes"], row["p50_ms"]) == (3, 1, True, 5.0)
    assert row["failed"] == {"count": 1, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    assert summary["measurements_format_version"] == 1
    assert summary["latency_of"].startswith("every request")


@pytest.mark.parametrize(("doc", "why"), [
    ({"format_version": 3}, "format version 3; readable: 1, 2"),
    ({"format_version": 1, "label": "x"}, "missing 'started_unix_s'"),
    ({**v1_doc(), "format_version": 2}, "missing 'test_start_unix_s'"),
    ({**record_of(REQUESTS).to_dict(), "significant_digits": 2}, "histograms in 'us' with 2 digits"),
])
def test_unreadable_process_files_are_refused_with_exit_2(tmp_path: Path, doc: dict[str, object],
                                                          why: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UnusableInput, match="refresh the baseline") as info:
        read_process_file(path)
    assert str(path) in str(info.value) and why in str(info.value)
    assert info.value.exit_code == 2


def test_report_reads_version_1_and_refuses_an_unknown_version_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = v1_run_dir(tmp_path / "a", v1_doc())
    assert main(["report", str(old)]) == 0
    assert json.loads((old / "summary.json").read_text())["format_version"] == 3
    newer = v1_run_dir(tmp_path / "b", {**v1_doc(), "format_version": 9})
    capsys.readouterr()
    assert main(["report", str(newer)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ddbbench: error: ") and "old.json" in err and "refresh the baseline" in err


@pytest.mark.parametrize("module", [runformat, patternrecord])
def test_the_schema_modules_examples_hold(module: types.ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_every_schema_name_is_importable_from_runformat() -> None:
    # Other modules import the per-pattern records from ddbbench.runformat: the split must not show.
    defined = {name for name, value in vars(patternrecord).items()
               if name.isupper() or getattr(value, "__module__", "") == patternrecord.__name__}
    public = {"Intervals"} | {name for name in defined if not name.startswith("_")}
    assert public and public <= set(runformat.__all__)
    assert all(getattr(runformat, n) is getattr(patternrecord, n) for n in public)
