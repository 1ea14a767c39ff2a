"""The design comparison: per pattern and design, latency, capacity and storage side by side.

Pure functions over the design runs' summaries and manifests (``compare-designs`` writes them
under ``<comparison>/designs/<design>/``) giving the typed comparison (``analysis.comparison``),
plus the writers of comparison.json, .md and .html.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from analysis import frames
from analysis.compare_charts import design_comparison_figure
from analysis.comparison import FORMAT as FORMAT
from analysis.comparison import FORMAT_VERSION as FORMAT_VERSION
from analysis.comparison import DesignComparison, DesignRow, DesignVerdict
from analysis.prices import Prices, load_prices, prices_record
from analysis.report import figure_png_base64
from analysis.summary import Summary
from analysis.summary_text import markdown_table
from ddbbench.errors import BenchError, UnusableInput
from ddbbench.facts import WRITE_PATTERNS
from ddbbench.objectives import insufficient_message, judgeable
from ddbbench.scenario import PATTERNS

FASTEST_PERCENTILE = 99.0
NO_DIFFERENCE = "no difference shown"


def load_design_runs(root: Path) -> dict[str, dict[str, Any]]:
    """{design: {"summary": Summary, "manifest": ..., "dir": ...}} for every design run under ``root``."""
    runs = {}
    for run_dir in sorted((Path(root) / "designs").iterdir()):
        try:
            summary = Summary.from_dict(json.loads((run_dir / "summary.json").read_text()))
            manifest = json.loads((run_dir / "manifest.json").read_text())
        except (OSError, ValueError, UnusableInput) as exc:
            raise BenchError(f"{run_dir}: not a finished design run ({exc})") from None
        runs[manifest["scenario"].get("design", "seed")] = {"summary": summary, "manifest": manifest,
                                                            "dir": run_dir.name}
    if not runs:
        raise BenchError(f"{root}: no design runs under designs/")
    return runs


def pattern_rows(runs: dict[str, dict[str, Any]]) -> list[DesignRow]:
    """One row per (pattern, design) that ran: latency and capacity per logical request."""
    rows = []
    for pattern in PATTERNS:
        for design, run in runs.items():
            p = run["summary"].patterns.get(pattern)
            if not p or not p.successful:  # no latency without a success
                continue
            table, index = p.capacity_per_request, p.index_capacity_per_request
            kind = "write" if pattern in WRITE_PATTERNS else "read"
            rows.append(DesignRow(pattern, design, p.count, p.successful, p.error_rate, p.p50_ms, p.p99_ms,
                                  (p.ci or {}).get("p99_ms"), p.p99_9_ms, kind, table, index,
                                  round(table + index, 4)))
    return rows


def per_million(runs: dict[str, dict[str, Any]], rows: list[DesignRow],
                prices: Prices | None = None) -> dict[str, dict[str, float]]:
    """Read and write units per 1,000,000 logical operations of the scenario's mix, and what
    they cost on demand (``prices``: the shared price table, analysis/prices.yaml)."""
    out = {}
    for design, run in runs.items():
        weights = run["manifest"]["scenario"]["mix"]
        total = sum(weights.values())
        units = {"read": 0.0, "write": 0.0}
        for r in rows:
            if r.design == design:
                units[r.kind] += weights[r.pattern] / total * r.units * 1e6
        out[design] = {"read_units": round(units["read"]), "write_units": round(units["write"])}
        if prices is not None:
            od = prices.on_demand
            out[design]["on_demand_usd"] = round(units["read"] / 1e6 * od.read_per_million
                                                 + units["write"] / 1e6 * od.write_per_million, 4)
    return out


def storage_per_million_conversations_usd(bytes_per_conversation: float, prices: Prices) -> float:
    """Monthly storage cost of 1,000,000 conversations (tables and indexes), before the free tier."""
    return round(bytes_per_conversation * 1e6 / 2**30 * prices.storage.gb_month, 4)


def storage(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Bytes per conversation in base tables and indexes (sizing rules, 100-byte entry
    overhead included), and the largest item the load wrote."""
    out = {}
    for design, run in runs.items():
        n = run["manifest"]["scenario"]["dataset"]["conversations"]
        rules = run["manifest"].get("after_replay", {}).get("storage", {})
        table_bytes = sum(t["bytes"] for t in rules.get("tables", {}).values())
        index_bytes = sum(t["bytes"] for t in rules.get("indexes", {}).values())
        largest = run["manifest"].get("load", {}).get("max_item_bytes", {})
        out[design] = {"table_bytes_per_conversation": round(table_bytes / n, 1) if n else 0.0,
                       "index_bytes_per_conversation": round(index_bytes / n, 1) if n else 0.0,
                       "largest_item_bytes": max(largest.values(), default=0),
                       "by_rules": rules}
    return out


def growth(runs: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {d: r["manifest"].get("after_replay", {}).get("append_growth", {}) for d, r in runs.items()}


def verdicts(rows: list[DesignRow], baseline: str = "seed") -> list[DesignVerdict]:
    """Per pattern: the cheapest and the fastest design, with their ratio to ``baseline``.

    Capacity per request is exact, so the cheapest is simply the fewest units. The fastest is
    named only when the p99 can be judged for every design (``ddbbench.objectives.judgeable``) and
    its confidence interval lies wholly below every other design's; otherwise ``fastest`` is
    None and ``fastest_note`` says why ("no difference shown", "not enough data (...)").
    """
    out = []
    for pattern in PATTERNS:
        mine = [r for r in rows if r.pattern == pattern]
        if not mine:
            continue
        base = next((r for r in mine if r.design == baseline), None)
        cheap = min(mine, key=lambda r: (r.units, r.p99_ms))
        fast, note = fastest(mine)
        out.append(DesignVerdict(
            pattern, cheap.design, cheap.units, _ratio(cheap.units, base and base.units),
            fast and fast.design, note, fast and fast.p99_ms,
            _ratio(fast.p99_ms, base and base.p99_ms) if fast else None))
    return out


def fastest(rows: list[DesignRow]) -> tuple[DesignRow | None, str]:
    """The design whose p99 interval is wholly below every other's, and '' ; else None and why.
    A single design is nobody's faster."""
    if len(rows) < 2:
        return None, "one design"
    fewest = min(rows, key=lambda r: r.successful)
    n = fewest.successful
    if not judgeable(n, FASTEST_PERCENTILE):
        return None, f"{insufficient_message(n, FASTEST_PERCENTILE)} for {fewest.design}"
    best = min(rows, key=lambda r: r.p99_ms)
    if best.p99_ci_ms is None or any(r.p99_ci_ms is None for r in rows):
        return None, f"{NO_DIFFERENCE} (no confidence interval: runs too short)"
    if all(best.p99_ci_ms[1] < r.p99_ci_ms[0] for r in rows if r is not best and r.p99_ci_ms):
        return best, ""
    return None, f"{NO_DIFFERENCE} (p99 intervals overlap)"


def warnings(runs: dict[str, dict[str, Any]]) -> list[str]:
    """What makes a design's numbers unusable or suspect, said next to the tables."""
    out = []
    for design, run in runs.items():
        summary = run["summary"]
        if not any(p.count for p in summary.patterns.values()):
            out.append(f"{design}: no request was measured (run too short for its warm-up?); "
                       "it is missing from the tables")
        if not summary.generator.trustworthy:
            out.append(f"{design}: the load generator was saturated; its latencies are suspect")
    return out


def _ratio(value: float, base: float | None) -> float | None:
    return round(value / base, 3) if base else None


def build_design_comparison(root: Path, meta: dict[str, Any],
                            prices_file: Path | None = None) -> dict[str, Any]:
    """Derive and write comparison.json, comparison.md and comparison.html under ``root``;
    return the comparison.json document (``compare_design_runs`` gives the typed comparison)."""
    comparison, runs = compare_design_runs(root, meta, prices_file)
    summary = comparison.to_dict()
    (root / "comparison.json").write_text(json.dumps(summary, indent=2))
    (root / "comparison.md").write_text(comparison_markdown(summary))
    summaries = [r["summary"].to_dict() for r in runs.values()]
    (root / "comparison.html").write_text(comparison_html(summary, summaries))
    return summary


def compare_design_runs(root: Path, meta: dict[str, Any], prices_file: Path | None = None
                        ) -> tuple[DesignComparison, dict[str, dict[str, Any]]]:
    """The comparison of the design runs under ``root``, and the runs it read."""
    runs = load_design_runs(root)
    rows = pattern_rows(runs)
    prices = load_prices(prices_file)
    stored = storage(runs)
    for sizes in stored.values():
        sizes["storage_usd_month_per_million_conversations"] = storage_per_million_conversations_usd(
            sizes["table_bytes_per_conversation"] + sizes["index_bytes_per_conversation"], prices)
    comparison = DesignComparison(
        dict(meta), FORMAT, FORMAT_VERSION, runs={d: r["dir"] for d, r in runs.items()}, patterns=rows,
        prices=prices_record(prices, prices_file), per_million_operations=per_million(runs, rows, prices),
        storage=stored, append_growth=growth(runs), verdicts=verdicts(rows), warnings=warnings(runs))
    return comparison, runs


# --- presentation ---------------------------------------------------------------------------

def _n(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:,.3f}".rstrip("0").rstrip(".") if isinstance(x, float) else f"{x:,}"


Section = tuple[str, list[str], list[list[str]]]


def sections(summary: dict[str, Any]) -> list[Section]:
    """The comparison's tables as (title, header, rows), for markdown and HTML alike."""
    latency = ("Latency and capacity per logical request",
               ["pattern", "design", "requests", "p50 ms", "p99 ms", "p99.9 ms", "table units",
                "index units"],
               [[r["pattern"], r["design"], _n(r["count"]), _few(r, 50.0, "p50_ms"), _few(r, 99.0, "p99_ms"),
                 _few(r, 99.9, "p99_9_ms"), _n(r["table_units"]), _n(r["index_units"])]
                for r in summary["patterns"]])
    cost = ("Per 1,000,000 operations of the mix, and storage",
            ["design", "read units", "write units", "on-demand $", "table bytes/conversation",
             "index bytes/conversation", "storage $/month per 1M conversations", "largest item bytes"],
            [[d, _n(u["read_units"]), _n(u["write_units"]), _usd(u["on_demand_usd"]),
              _n(summary["storage"][d]["table_bytes_per_conversation"]),
              _n(summary["storage"][d]["index_bytes_per_conversation"]),
              _usd(summary["storage"][d]["storage_usd_month_per_million_conversations"]),
              _n(summary["storage"][d]["largest_item_bytes"])]
             for d, u in summary["per_million_operations"].items()])
    meaning = ("What this means (ratios to the seed design)",
               ["pattern", "cheapest", "units", "x seed", "fastest (p99)", "p99 ms", "x seed"],
               [[v["pattern"], v["cheapest"], _n(v["units"]), _n(v["units_vs_baseline"]),
                 v["fastest"] or v.get("fastest_note") or "-", _n(v["p99_ms"]), _n(v["p99_vs_baseline"])]
                for v in summary["verdicts"]])
    marks = (1, 10, 30, 60)
    growth_rows = []
    for design, probe in summary["append_growth"].items():
        by_n = {a["messages"]: a for a in probe.get("appends", [])}
        limit = probe.get("messages_to_item_limit")
        growth_rows.append([design] + [_n(by_n[m]["wcu"] + by_n[m]["index_wcu"]) if m in by_n else "-"
                                       for m in marks] + ["no limit" if limit is None else _n(limit)])
    grow = ("Write units of one append as the conversation grows",
            ["design"] + [f"message {m}" for m in marks] + ["messages until an item passes 400 KB"],
            growth_rows)
    return [meaning, latency, cost, grow]


def _few(row: dict[str, Any], percentile: float, key: str) -> str:
    """The value, marked '*' when too few requests support the percentile (about the max)."""
    text = _n(row[key])
    few = row[key] is not None and not judgeable(row.get("successful", row["count"]), percentile)
    return text + "*" if few else text


FEW_NOTE = ("*: fewer than 10 requests beyond the percentile (p99 needs 1,000): about the "
            "sample's maximum, not judged. A design is named fastest only when its p99 confidence "
            "interval lies wholly below every other design's.")


def _usd(x: float) -> str:
    return f"${x:,.2f}" if x >= 1 else f"${x:,.4f}"


def _intro(summary: dict[str, Any]) -> str:
    p = summary["prices"]
    return (f"Designs: {', '.join(summary['designs'])}. Each ran the same dataset, mix and load "
            "on a fresh DynamoDB Local; every number comes from the runs under designs/. "
            f"Costs: {p['region']} {p['table_class']} prices as of {p['as_of']} from {p['file']} "
            "(on demand; storage before the free tier).")


def comparison_markdown(summary: dict[str, Any]) -> str:
    lines = [f"# Key designs compared: scenario {summary['scenario']}", "", _intro(summary)]
    lines += [f"\n**Warning:** {w}" for w in summary["warnings"]]
    for title, head, rows in sections(summary):
        lines += ["", f"## {title}", "", *markdown_table(head, rows)]
    return "\n".join([*lines, "", FEW_NOTE]) + "\n"


def growth_figure(probes: dict[str, dict[str, Any]]) -> Figure:
    """Write units (table + index) of each append against the conversation's message count."""
    fig = Figure(figsize=(8, 4), layout="tight")  # no pyplot: nothing left open per call
    ax = fig.add_subplot()
    for design, probe in probes.items():
        rows = probe.get("appends", [])
        ax.plot([r["messages"] for r in rows], [r["wcu"] + r["index_wcu"] for r in rows], label=design)
    ax.set_xlabel("messages in the conversation")
    ax.set_ylabel("write units per append")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def comparison_html(summary: dict[str, Any], summaries: list[dict[str, Any]]) -> str:
    """A self-contained page: the tables, then the charts (embedded PNG)."""
    esc = html.escape
    parts = [f"<h1>Key designs compared: scenario {esc(summary['scenario'])}</h1>",
             f"<p>{esc(_intro(summary))}</p>"]
    parts += [f"<p><b>Warning:</b> {esc(w)}</p>" for w in summary["warnings"]]
    for title, head, rows in sections(summary):
        parts.append(f"<h2>{esc(title)}</h2><table><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"
                     + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
                     + "</table>")
    parts.append(f"<p>{esc(FEW_NOTE)}</p>")
    charts = [("Latency per pattern and design", design_comparison_figure(frames.percentiles(summaries))),
              ("Write units per append as a conversation grows", growth_figure(summary["append_growth"]))]
    for title, fig in charts:
        parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' "
                     f"src='data:image/png;base64,{figure_png_base64(fig)}'>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>design comparison</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
