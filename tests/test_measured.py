"""Summaries and reports say what was measured (#12 item 10) and how the tables were set (item 5)."""

from __future__ import annotations

from analysis.metrics import LOCAL_CAVEAT, measured_target
from analysis.report import table_settings_rows
from analysis.summary_text import footer


def test_each_target_kind_is_named_and_local_carries_its_caveat() -> None:
    local = measured_target({"kind": "local", "url": "http://127.0.0.1:8000", "region": "us-east-1"})
    assert local == {"kind": "local", "target": "DynamoDB Local (http://127.0.0.1:8000)",
                     "caveat": LOCAL_CAVEAT}
    assert "not the DynamoDB service" in LOCAL_CAVEAT
    assert "capacity units and item sizes carry over" in LOCAL_CAVEAT
    url = measured_target({"kind": "endpoint", "url": "http://10.0.0.5:8000", "region": "eu-west-1"})
    assert url["target"] == "endpoint URL http://10.0.0.5:8000 (region eu-west-1)" and url["caveat"] is None
    assert measured_target({"kind": "aws", "url": None, "region": "eu-west-1"})["target"] == \
        "AWS DynamoDB, region eu-west-1"


def test_the_footer_leads_with_the_target_and_flags_a_capped_run() -> None:
    summary = {"measured": measured_target({"kind": "local", "url": "http://h:1"}), "stopped_by_cap": True,
               "overall": {"count": 1, "errors": 0, "error_rate": 0.0, "throttle_rate": 0.0,
                           "throughput_rps": 1.0, "slo_met": True}, "duration_s": 1.0,
               "slo": {"status": "pass", "met": True, "verdicts": []},
               "generator": {"processes": [], "saturated": False, "threshold_pct": 80.0, "late_starts": 0,
                             "cap_waits": 0, "not_started": 0}}
    lines = footer(summary)
    assert lines[0] == f"target: DynamoDB Local (http://h:1): {LOCAL_CAVEAT}"
    assert lines[1].startswith("WARNING: stopped by the request-unit cap")


def test_table_settings_rows_of_the_manifest() -> None:
    manifest = {"table_settings": {"tables": [
        {"table": "C", "index": None, "billing_mode": "provisioned", "read_capacity": 7, "write_capacity": 3,
         "on_demand_max": None, "warm": {"ReadUnitsPerSecond": 12000}, "table_class": "STANDARD"},
        {"table": "C", "index": "I", "billing_mode": "provisioned", "read_capacity": 2, "write_capacity": 2,
         "on_demand_max": None, "warm": None, "table_class": "STANDARD"},
        {"table": "E", "index": None, "billing_mode": "on_demand", "read_capacity": None,
         "write_capacity": None, "on_demand_max": {"MaxWriteRequestUnits": 300}, "warm": None,
         "table_class": "STANDARD_INFREQUENT_ACCESS"}], "notes": []}}
    assert table_settings_rows(manifest) == [
        ["C", "-", "provisioned", "7", "3", "-", "ReadUnitsPerSecond 12,000", "STANDARD"],
        ["C", "I", "provisioned", "2", "2", "-", "-", "-"],
        ["E", "-", "on-demand", "-", "-", "MaxWriteRequestUnits 300", "-", "STANDARD_INFREQUENT_ACCESS"]]
    assert table_settings_rows({}) == []
