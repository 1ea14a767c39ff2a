"""Writing a run's derived outputs: summary.json, summary.md and a self-contained report.html.

report.html leads with the verdict table, then the numbers, then every chart (PNG embedded as
base64, so the one file is the whole report), then the manifest.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from analysis import frames
from analysis.charts import (
    capacity_figure,
    item_size_figure,
    percentile_figure,
    percentiles_over_time_figure,
    throughput_errors_figure,
    write_capacity_figure,
    write_capacity_over_time,
)
from analysis.metrics import summarize_run
from analysis.rundata import RunData, load_run, requests_frame
from analysis.summary import Summary
from analysis.summary_text import (
    CAPACITY_HEAD,
    VERDICT_HEAD,
    capacity_rows,
    footer,
    overall_text,
    percentile_rows,
    rate_rows,
    summary_markdown,
    summary_table,
    verdict_rows,
)
from ddbbench.objectives import Slo

__all__ = ["CHARTS", "build_report", "report_charts", "report_html", "summary_markdown",
           "summary_table", "write_report"]

# Every chart a report can hold, in order. The last three need raw request records (and the
# growth charts writes or reads returning items); a report says which it left out and why.
CHARTS = (LATENCY, OVER_TIME, TRAFFIC, CAPACITY, WRITE_GROWTH, READ_GROWTH) = (
    "Latency by percentile", "Percentiles over time", "Throughput and errors over time",
    "Consumed capacity per request, table and indexes",
    "Write capacity per request over time (item growth)",
    "Response bytes per item read over time (item growth)")


def build_report(run_dir: str | Path) -> dict[str, Any]:
    """(Re)build summary.json, summary.md and report.html of a run; return summary.json's document."""
    return write_report(run_dir).to_dict()


def write_report(run_dir: str | Path) -> Summary:
    """(Re)build summary.json, summary.md and report.html of a run; return the typed summary."""
    run = load_run(run_dir)
    summary = summarize_run(run)
    doc = summary.to_dict()  # summary.json, format 3; the text and page read the document
    out = Path(run_dir)
    (out / "summary.json").write_text(json.dumps(doc, indent=2))
    (out / "summary.md").write_text(summary_markdown(doc))
    (out / "report.html").write_text(report_html(run, doc))
    return summary


def report_charts(run: RunData, summary: dict[str, Any]) -> tuple[list[tuple[str, Figure]], list[str]]:
    """The report's charts as (title, Figure), and a note for each chart left out."""
    slo = Slo.from_dict(run.manifest["scenario"]["slo"])
    if not summary["patterns"]:  # e.g. a cap spent before the measured window began
        return [], [f"{t}: left out, no measured requests" for t in CHARTS]
    charts = [(LATENCY, percentile_figure(run.patterns, slo.objectives_by_pattern(run.patterns))),
              (OVER_TIME, percentiles_over_time_figure(run.patterns, slo.threshold_ms)),
              (CAPACITY, capacity_figure(frames.capacity([summary])))]
    raw = requests_frame(run.run_dir)
    if raw.empty:
        return charts, [f"{t}: left out, no raw request records (measurement.raw_fraction 0)"
                        for t in (TRAFFIC, WRITE_GROWTH, READ_GROWTH)]
    timeline = frames.over_time(raw, None, run.raw_fraction)
    charts.insert(2, (TRAFFIC, throughput_errors_figure(timeline, run.raw_fraction)))
    notes = []
    growth = write_capacity_over_time(raw)
    if growth.empty:
        notes.append(f"{WRITE_GROWTH}: left out, no successful write requests")
    else:
        charts.append((WRITE_GROWTH, write_capacity_figure(growth)))
    sizes = frames.item_size_over_time(raw)
    if sizes.empty:
        notes.append(f"{READ_GROWTH}: left out, no successful reads returning items")
    else:
        charts.append((READ_GROWTH, item_size_figure(sizes)))
    return charts, notes


def figure_png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode()


def report_html(run: RunData, summary: dict[str, Any]) -> str:
    charts, left_out = report_charts(run, summary)
    # data-rendered (set once the browser decoded the image) lets a headless browser test
    # check from the DOM that every chart was drawn, not only present (tests/test_browser.py).
    images = "\n".join(f"<h2>{html.escape(title)}</h2>\n<img class=\"chart\" alt=\"{html.escape(title)}\" "
                       "onload=\"this.dataset.rendered = this.naturalWidth + 'x' + this.naturalHeight\" "
                       f"src=\"data:image/png;base64,{figure_png_base64(fig)}\">"
                       for title, fig in charts)
    notes = "".join(f"<p class=\"note\">{html.escape(n)}</p>" for n in left_out)
    health = "".join(f"<p class=\"{'warn' if 'WARNING' in line else 'note'}\">"
                     f"{html.escape(line)}</p>" for line in footer(summary)
                     if not line.startswith("target: "))  # the target leads the page
    rate_head, rates = rate_rows(summary)
    return _PAGE.format(
        title=html.escape(f"ddbbench {summary['run_id']}"),
        run_id=html.escape(summary["run_id"]), scenario=html.escape(summary["scenario"]),
        design=html.escape(summary["design"]),
        overall=html.escape(overall_text(summary["slo"])),
        overall_class={True: "pass", False: "fail", None: "not"}[summary["slo"]["met"]],
        verdicts=_html_table(VERDICT_HEAD, verdict_rows(summary), "verdicts", verdict_col=6),
        health=health, ci_note=html.escape(_ci_note(summary)),
        percentiles=_html_table(["pattern", "count", "errors", "p50", "p90", "p99", "p99.9", "max"],
                                percentile_rows(summary, with_ci=True), "percentiles"),
        rates=_html_table(rate_head, rates, "rates"),
        capacity=_html_table(CAPACITY_HEAD, capacity_rows(summary), "capacity"),
        images=images + notes, manifest=html.escape(json.dumps(run.manifest, indent=2)),
        measured=_measured_html(summary), table_settings=_table_settings_html(run.manifest))


TABLE_SETTINGS_HEAD = ["table", "index", "billing mode", "RCU", "WCU", "on-demand maximum",
                       "warm throughput", "table class"]


def table_settings_rows(manifest: dict[str, Any]) -> list[list[str]]:
    """The tables' settings as the run created them (manifest ``table_settings``)."""
    def units(d: dict[str, Any] | None) -> str:
        return ", ".join(f"{k} {v:,}" for k, v in d.items() if k != "Status") if d else "-"

    return [[r["table"], r["index"] or "-", r["billing_mode"].replace("_", "-"),
             "-" if r["read_capacity"] is None else str(r["read_capacity"]),
             "-" if r["write_capacity"] is None else str(r["write_capacity"]),
             units(r["on_demand_max"]), units(r["warm"]), r["table_class"] if r["index"] is None else "-"]
            for r in (manifest.get("table_settings") or {}).get("tables", [])]


def _table_settings_html(manifest: dict[str, Any]) -> str:
    rows = table_settings_rows(manifest)
    if not rows:
        return ""
    notes = "".join(f"<p class=\"note\">{html.escape(n)}</p>"
                    for n in manifest["table_settings"].get("notes", []))
    return "<h2>Table settings</h2>\n" + _html_table(TABLE_SETTINGS_HEAD, rows, "table-settings") + notes


def _measured_html(summary: dict[str, Any]) -> str:
    measured = summary.get("measured") or {}
    if not measured:
        return ""
    caveat = f" <b>Note:</b> {html.escape(measured['caveat'])}." if measured.get("caveat") else ""
    capped = ("<p class=\"warn\">Stopped by the request-unit cap: the run ended early; partial "
              "results.</p>" if summary.get("stopped_by_cap") else "")
    return f"<p id=\"measured\">Measured against {html.escape(measured['target'])}.{caveat}</p>{capped}"


def _ci_note(summary: dict[str, Any]) -> str:
    ci = summary.get("ci")
    if not ci:
        return "No confidence intervals computed."
    return (f"In parentheses: {ci['confidence']:.0%} confidence intervals ({ci['method']}, "
            f"{ci['interval_s']:g} s blocks, {ci['resamples']} resamples, seed {ci['seed']}); none "
            f"where the run has fewer than {ci['min_blocks']} intervals or fewer than "
            f"{ci['min_tail']} requests beyond the percentile.")


def _html_table(head: list[str], rows: list[list[str]], table_id: str,
                verdict_col: int | None = None) -> str:
    out = [f"<table id=\"{table_id}\">", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
           + "</tr>"]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = f" class=\"{cell.split()[0].lower()}\"" if i == verdict_col else ""
            cells.append(f"<td{cls}>{html.escape(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join([*out, "</table>"])


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1200px; margin: 1.5em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
th, td {{ padding: .3em .7em; border-bottom: 1px solid #ddd; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }} td:first-child {{ text-align: left; }}
.pass {{ color: #176c2e; font-weight: bold; }} .fail {{ color: #b00020; font-weight: bold; }}
.not {{ color: #8a5a00; font-weight: bold; }}
.warn {{ color: #b00020; font-weight: bold; }} .note {{ color: #444; }} img {{ max-width: 100%; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 85%; }}
</style></head><body>
<h1>ddbbench run {run_id}</h1>
<p>Scenario <b>{scenario}</b>, key design <b>{design}</b>. SLO <span class="{overall_class}">{overall}</span>.
Latencies in milliseconds from microsecond HDR histograms (3 significant digits), timed around
each SDK call (client overhead included).</p>
{measured}
<h2>Verdicts</h2>
{verdicts}
{health}
<h2>Latency (ms)</h2>
{percentiles}
<p class="note">{ci_note}</p>
<h2>Throughput and errors</h2>
{rates}
<h2>Consumed capacity</h2>
{capacity}
{table_settings}
{images}
<h2>Manifest</h2>
<pre>{manifest}</pre>
</body></html>
"""
