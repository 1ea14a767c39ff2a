"""Writing a run's derived outputs: summary.json, summary.md and a self-contained report.html."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from analysis.charts import (
    percentile_figure,
    percentiles_over_time_figure,
    write_capacity_figure,
    write_capacity_over_time,
)
from analysis.metrics import PERCENTILES, pct_key, summarize
from analysis.rundata import RunData, load_run, requests_frame

_COLUMNS = ("count", "errors", *(pct_key(p) for p in PERCENTILES), "max_ms")


def build_report(run_dir: str | Path) -> dict[str, Any]:
    """(Re)build summary.json, summary.md and report.html of a run; return the summary."""
    run = load_run(run_dir)
    summary = summarize(run)
    out = Path(run_dir)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(summary_markdown(summary))
    (out / "report.html").write_text(report_html(run, summary))
    return summary


def _verdict(row: dict[str, Any]) -> str:
    return "PASS" if row["slo"]["met"] else "FAIL"


def summary_table(summary: dict[str, Any]) -> str:
    """A fixed-width table for terminals: one row per pattern, latencies in ms (3 decimals)."""
    slo = summary["slo"]
    head = ["pattern", *_COLUMNS, f"p{slo['percentile']:g}<{slo['threshold_ms']:g}ms"]
    rows = [head]
    for name, row in summary["patterns"].items():
        rows.append([name, *[_fmt(row[c]) for c in _COLUMNS], _verdict(row)])
    return "\n".join([*fixed_width(rows), "", *_footer(summary)])


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


def _footer(summary: dict[str, Any]) -> list[str]:
    overall = summary["overall"]
    gen = summary["generator"]
    lines = [f"overall: {overall['count']:,} requests, {overall['errors']:,} errors, "
             f"{overall['throughput_rps']:.1f} req/s over {summary['duration_s']:.1f}s; "
             f"SLO {'MET' if overall['slo_met'] else 'NOT MET'}"]
    cpu = ", ".join(f"{p['cpu_mean_pct']:.0f}% mean / {p['cpu_max_pct']:.0f}% max"
                    for p in gen["processes"])
    if gen.get("machine_cpu_mean_pct") is not None:
        cpu += f"; whole machine {gen['machine_cpu_mean_pct']:.0f}% of all cores"
    if gen["saturated"]:
        lines.append(f"WARNING: load generator saturated (CPU {cpu}; threshold "
                     f"{gen['threshold_pct']:.0f}%): latencies include client-side queueing "
                     "and are NOT trustworthy")
    else:
        lines.append(f"load generator CPU: {cpu} (saturation threshold {gen['threshold_pct']:.0f}%)")
    cal = summary.get("calibration", {})
    if cal.get("requests"):
        lines.append(f"client overhead (calibration, {cal['operation']} x {cal['requests']} against a "
                     f"local stub): p50 {cal['p50_ms']:.3f} ms, p99 {cal['p99_ms']:.3f} ms, "
                     f"{cal['client_cpu_ms_per_request']:.3f} ms CPU per request; included in every "
                     "latency above")
    if gen["late_starts"]:
        lines.append(f"note: {gen['late_starts']:,} paced requests started late (the users could "
                     "not keep rate_per_user; the offered rate was lower than configured)")
    if gen["cap_waits"] or gen["not_started"]:
        lines.append(f"WARNING: open model: {gen['cap_waits']:,} arrivals waited for an in-flight "
                     f"slot (max_in_flight reached) and {gen['not_started']:,} were never sent; "
                     "latencies count the wait from each intended start")
    return lines


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def summary_markdown(summary: dict[str, Any]) -> str:
    slo = summary["slo"]
    head = ["pattern", *_COLUMNS, f"p{slo['percentile']:g} < {slo['threshold_ms']:g} ms"]
    rows = [[name, *[_fmt(row[c]) for c in _COLUMNS], _verdict(row)]
            for name, row in summary["patterns"].items()]
    lines = [f"# ddbbench run {summary['run_id']} ({summary['scenario']})", "",
             *markdown_table(head, rows)]
    return "\n".join([*lines, "", *_footer(summary), ""])


def figure_png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def report_html(run: RunData, summary: dict[str, Any]) -> str:
    slo = summary["slo"]
    charts = [
        ("Latency by percentile", percentile_figure(run.patterns, slo["threshold_ms"],
                                                    slo["percentile"])),
        ("Percentiles over time", percentiles_over_time_figure(run.patterns, slo["threshold_ms"])),
    ]
    growth = write_capacity_over_time(requests_frame(run.run_dir))
    if not growth.empty:
        charts.append(("Write capacity per request over time (item growth)",
                       write_capacity_figure(growth)))
    images = "\n".join(f"<h2>{html.escape(title)}</h2>\n<img alt=\"{html.escape(title)}\" "
                       f"src=\"data:image/png;base64,{figure_png_base64(fig)}\">"
                       for title, fig in charts)
    footer = "".join(f"<p class=\"{'warn' if 'WARNING' in line else 'note'}\">"
                     f"{html.escape(line)}</p>" for line in _footer(summary))
    return _PAGE.format(
        title=html.escape(f"ddbbench {summary['run_id']}"),
        run_id=html.escape(summary["run_id"]), scenario=html.escape(summary["scenario"]),
        table=_html_table(summary), footer=footer, images=images,
        manifest=html.escape(json.dumps(run.manifest, indent=2)))


def _html_table(summary: dict[str, Any]) -> str:
    slo = summary["slo"]
    head = ["pattern", *_COLUMNS, f"p{slo['percentile']:g} &lt; {slo['threshold_ms']:g} ms"]
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for name, row in summary["patterns"].items():
        verdict = _verdict(row)
        cells = [html.escape(name), *[_fmt(row[c]) for c in _COLUMNS]]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells)
                    + f"<td class=\"{verdict.lower()}\">{verdict}</td></tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1280px; margin: 1.5em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; }} th, td {{ padding: .3em .7em; border-bottom: 1px solid #ddd; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }} td:first-child {{ text-align: left; }}
.pass {{ color: #176c2e; font-weight: bold; }} .fail {{ color: #b00020; font-weight: bold; }}
.warn {{ color: #b00020; font-weight: bold; }} img {{ max-width: 100%; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 85%; }}
</style></head><body>
<h1>ddbbench run {run_id}</h1>
<p>Scenario <b>{scenario}</b>. Latencies in milliseconds from microsecond HDR histograms
(3 significant digits), timed around each SDK call (client overhead included).</p>
{table}
{footer}
{images}
<h2>Manifest</h2>
<pre>{manifest}</pre>
</body></html>
"""
