"""A summary as text: fixed-width tables for terminals, markdown for pull requests.

Every number shown comes from ``analysis.metrics.summarize``; latencies in ms with 3 decimals
(microsecond precision), of successful requests (failed ones have their own table). The
verdict table leads: one row per pattern objective.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analysis.metrics import PERCENTILES, pct_key
from analysis.slo import FAIL, INSUFFICIENT, PASS
from ddbbench.objectives import judgeable, required_requests

PCT_COLUMNS = tuple(pct_key(p) for p in PERCENTILES)
_COLUMNS = ("count", "errors", *PCT_COLUMNS, "max_ms")
VERDICT_HEAD = ["pattern", "objective", "value (ms)", "CI (ms)", "requests", "errors", "verdict"]
FEW = "*"  # after a percentile too few requests support (ddbbench.objectives.judgeable)


def fixed_width(rows: list[list[str]]) -> list[str]:
    """Terminal table lines: the first column left-aligned, the rest right-aligned, a rule
    under the header row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths, strict=True))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def markdown_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(r) + " |" for r in rows)]


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def fmt_ci(ci: list[float] | None) -> str:
    return "-" if ci is None else f"{ci[0]:.3f}-{ci[1]:.3f}"


def verdict_status(v: dict[str, Any]) -> str:
    """pass, fail or insufficient; summaries before the sample-size rule have only ``met``."""
    return v.get("status") or (PASS if v["met"] else FAIL)


def verdict_text(v: dict[str, Any]) -> str:
    """PASS, FAIL (and why), or 'not enough data (n=18; p99 needs 1,000)'; '(marginal)' when
    the confidence interval straddles the threshold (another run could well give the other
    verdict)."""
    status = verdict_status(v)
    if status == INSUFFICIENT:
        return v["reason"]
    text = "PASS" if status == PASS else "FAIL"
    reason = v.get("reason")
    if status == FAIL and reason and not reason.startswith("p"):  # not the latency: say why
        return f"{text} ({reason})"
    if v["requests"] == 0:
        return text + " (no requests)"
    if v.get("successful", v["requests"]) == 0:  # summaries before format 3 have no "successful"
        return text + " (no successful requests)"
    return text + (" (marginal)" if v["confident"] is False else "")


def overall_text(slo: dict[str, Any]) -> str:
    """MET, NOT MET, or NOT JUDGED (not enough data for N objectives)."""
    status = slo.get("status") or (PASS if slo["met"] else FAIL)
    if status == INSUFFICIENT:
        n = sum(verdict_status(v) == INSUFFICIENT for v in slo["verdicts"])
        return f"NOT JUDGED (not enough data for {n} objective{'s' if n != 1 else ''})"
    return "MET" if status == PASS else "NOT MET"


def objective_text(v: dict[str, Any]) -> str:
    budget = v.get("error_budget")
    errors = "" if budget is None else f", errors <= {budget:.2%}"
    return f"p{v['percentile']:g} < {v['threshold_ms']:g} ms{errors}"


def verdict_rows(summary: dict[str, Any]) -> list[list[str]]:
    return [[v["pattern"], objective_text(v), fmt(v["value_ms"]), fmt_ci(v["ci_ms"]), fmt(v["requests"]),
             fmt(v.get("errors", "-")), verdict_text(v)]
            for v in summary["slo"]["verdicts"]]


def percentile_rows(summary: dict[str, Any], with_ci: bool) -> list[list[str]]:
    """count, errors, p50 ... p99.9 (with their intervals when ``with_ci``), max."""
    rows = []
    for name, row in summary["patterns"].items():
        cells = [name]
        for c, p in zip(_COLUMNS, (None, None, *PERCENTILES, None), strict=True):
            cell = fmt(row[c])
            if p is not None and row[c] is not None and not judgeable(row.get("successful", row["count"]), p):
                cell += FEW
            if with_ci and c in PCT_COLUMNS and row["ci"][c]:
                cell += f" ({fmt_ci(row['ci'][c])})"
            cells.append(cell)
        rows.append(cells)
    return rows


def rate_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Throughput, error and throttle rates and outcome classes per pattern."""
    classes = sorted({k for row in summary["patterns"].values() for k in row["outcomes"]} - {"ok"})
    head = ["pattern", "req/s", "error rate", "throttle rate", *classes, "retries"]
    rows = [[name, f"{row['throughput_rps']:.2f}", f"{row['error_rate']:.2%}",
             f"{row['throttle_rate']:.2%}", *(fmt(row["outcomes"].get(c, 0)) for c in classes),
             fmt(row["retries"])] for name, row in summary["patterns"].items()]
    return head, rows


CAPACITY_HEAD = ["pattern", "unit", "table/request", "index/request", "table/s", "index/s"]


def capacity_rows(summary: dict[str, Any]) -> list[list[str]]:
    unit = {"read": "RCU", "write": "WCU"}
    return [[name, unit[row["capacity_kind"]], f"{row['capacity_per_request']:.4f}",
             f"{row['index_capacity_per_request']:.4f}", f"{row['capacity_per_s']:.3f}",
             f"{row['index_capacity_per_s']:.3f}"] for name, row in summary["patterns"].items()]


CAPACITY_BY_NAME_HEAD = ["pattern", "unit", "table", "index", "units/request", "units/s", "total"]


def capacity_by_name_rows(summary: dict[str, Any]) -> list[list[str]]:
    """Per pattern, table and index (summary format 3; none for runs measured before)."""
    unit = {"read": "RCU", "write": "WCU"}
    return [[name, unit[row["capacity_kind"]], c["table"], c["index"] or "-", f"{c['per_request']:.4f}",
             f"{c['per_s']:.3f}", f"{c['total']:.1f}"]
            for name, row in summary["patterns"].items()
            for c in row.get("capacity_by_name", {}).values()]


FAILED_HEAD = ["pattern", "failed", "p50 (ms)", "p99 (ms)", "max (ms)", "by class"]


def failed_rows(summary: dict[str, Any]) -> list[list[str]]:
    """Failed requests' own latency, for the patterns that had any."""
    rows = []
    for name, row in summary["patterns"].items():
        failed = row.get("failed") or {}
        if failed.get("count"):
            classes = ", ".join(f"{k} {v['count']:,}" for k, v in row["failed_by_outcome"].items())
            rows.append([name, fmt(failed["count"]), fmt(failed["p50_ms"]), fmt(failed["p99_ms"]),
                         fmt(failed["max_ms"]), classes or "-"])
    return rows


def _latency_note(summary: dict[str, Any]) -> str:
    few = (f"{FEW}: fewer than 10 requests beyond the percentile (p99 needs "
           f"{required_requests(99):,}, p90 {required_requests(90):,}): about the sample's maximum, "
           "not judged.")
    if summary.get("latency_of", "successful requests") == "successful requests":
        return f"Latency of successful requests only; failed requests are under Failed requests. {few}"
    return f"Latency of {summary['latency_of']}. {few}"


def summary_table(summary: dict[str, Any]) -> str:
    """For terminals: percentiles per pattern, then the verdicts, then the run's health."""
    pct = [["pattern", *_COLUMNS], *percentile_rows(summary, with_ci=False)]
    verdicts = [VERDICT_HEAD, *verdict_rows(summary)]
    return "\n".join([*fixed_width(pct), f"({_latency_note(summary)})", "", *fixed_width(verdicts),
                      "", *footer(summary)])


def summary_markdown(summary: dict[str, Any]) -> str:
    ci = summary.get("ci")
    ci_note = (f"Confidence intervals ({ci['confidence']:.0%}, {ci['method']}, "
               f"{ci['interval_s']:g} s blocks) in parentheses; '-' where the run is too short "
               f"(fewer than {ci['min_blocks']} intervals, or fewer than {ci['min_tail']} "
               "requests beyond the percentile)." if ci else "No confidence intervals computed.")
    rate_head, rates = rate_rows(summary)
    lines = [f"# ddbbench run {summary['run_id']} ({summary['scenario']}, design {summary['design']})",
             "", f"SLO verdict: **{overall_text(summary['slo'])}**", "",
             *markdown_table(VERDICT_HEAD, verdict_rows(summary)), "", "## Latency (ms)", "",
             *markdown_table(["pattern", *_COLUMNS], percentile_rows(summary, with_ci=True)), "",
             _latency_note(summary), ci_note, "", "## Throughput and errors", "",
             *markdown_table(rate_head, rates), "", *_failed_section(summary),
             "## Consumed capacity", "", *markdown_table(CAPACITY_HEAD, capacity_rows(summary)),
             *_capacity_by_name_section(summary)]
    return "\n".join([*lines, "", *footer(summary), ""])


def _failed_section(summary: dict[str, Any]) -> list[str]:
    rows = failed_rows(summary)
    return ["## Failed requests", "", *markdown_table(FAILED_HEAD, rows), ""] if rows else []


def _capacity_by_name_section(summary: dict[str, Any]) -> list[str]:
    rows = capacity_by_name_rows(summary)
    return ["", "Per table and index:", "", *markdown_table(CAPACITY_BY_NAME_HEAD, rows)] if rows else []


def footer(summary: dict[str, Any]) -> list[str]:
    overall = summary["overall"]
    lines = [f"overall: {overall['count']:,} requests, {overall['errors']:,} errors "
             f"({overall['error_rate']:.2%}; throttled {overall['throttle_rate']:.2%}), "
             f"{overall['throughput_rps']:.1f} req/s over {summary['duration_s']:.1f}s; "
             f"SLO {overall_text(summary['slo'])}"]
    return (_target_lines(summary) + lines + _unreachable_lines(summary)
            + _generator_lines(summary["generator"]) + _calibration_lines(summary))


def _unreachable_lines(summary: dict[str, Any]) -> list[str]:
    gen = summary["generator"]
    since = gen.get("unreachable_since_unix_s")
    if since is None:
        return []
    stamp = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
    return [f"WARNING: the target stopped answering at {stamp} ({gen['unreachable_since_s']:.1f} s "
            "into the test; only connection errors since): the run stopped early and is NOT "
            "trustworthy"]


def _target_lines(summary: dict[str, Any]) -> list[str]:
    """Where it was measured, first: a DynamoDB Local latency is not the service's."""
    measured = summary.get("measured")
    if not measured:  # summaries written before the field
        return []
    lines = [f"target: {measured['target']}"
             + (f": {measured['caveat']}" if measured.get("caveat") else "")]
    if summary.get("stopped_by_cap"):
        lines.append("WARNING: stopped by the request-unit cap (--max-request-units / --max-cost): "
                     "the run ended early; these are partial results")
    return lines


def _generator_lines(gen: dict[str, Any]) -> list[str]:
    cpu = ", ".join(f"{p['cpu_mean_pct']:.0f}% mean / {p['cpu_max_pct']:.0f}% max"
                    for p in gen["processes"])
    if gen.get("machine_cpu_mean_pct") is not None:
        cpu += f"; whole machine {gen['machine_cpu_mean_pct']:.0f}% of all cores"
    if gen["saturated"]:
        lines = [f"WARNING: load generator saturated (CPU {cpu}; threshold "
                 f"{gen['threshold_pct']:.0f}%): latencies include client-side queueing "
                 "and are NOT trustworthy"]
    else:
        lines = [f"load generator CPU: {cpu} (saturation threshold {gen['threshold_pct']:.0f}%)"]
    if gen["late_starts"]:
        lines.append(f"note: {gen['late_starts']:,} paced requests started late (the users could "
                     "not keep rate_per_user; the offered rate was lower than configured)")
    if gen["cap_waits"] or gen["not_started"]:
        lines.append(f"WARNING: open model: {gen['cap_waits']:,} arrivals waited for an in-flight "
                     f"slot (max_in_flight reached) and {gen['not_started']:,} were never sent; "
                     "latencies count the wait from each intended start")
    return lines


def _calibration_lines(summary: dict[str, Any]) -> list[str]:
    cal = summary.get("calibration", {})
    if not cal.get("requests"):
        return []
    # Runs from before the kind was recorded calibrated boto3, the only client then.
    return [f"client overhead (calibration of the {cal.get('client', 'boto3')} client, "
            f"{cal['operation']} x {cal['requests']} against a "
            f"local stub): p50 {cal['p50_ms']:.3f} ms, p99 {cal['p99_ms']:.3f} ms, "
            f"{cal['client_cpu_ms_per_request']:.3f} ms CPU per request; included in every "
            "latency above"]
