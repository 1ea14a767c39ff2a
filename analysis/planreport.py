"""plan.md: a capacity plan (plan.json's content) as markdown tables, also printed by the CLI."""

from __future__ import annotations

from typing import Any

from analysis.summary_text import markdown_table


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _num(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def describe_target(target: dict[str, Any]) -> str:
    if target["mode"] == "rates":
        return "rates per pattern as given (" + ", ".join(target["rates"]) + ")"
    if target["mode"] == "total-rps":
        return f"{target['total_rps']:,g} requests/s in all, split by the run's mix"
    return (f"{target['conversations_per_day']:,g} conversations/day x "
            f"{target['messages_per_conversation']:g} messages (one append_message each); the other "
            "patterns keep their ratio to append_message in the run's mix")


def pattern_lines(plan: dict[str, Any]) -> list[str]:
    u = plan["assumptions"]["utilisation"]
    head = ["pattern", "kind", "req/s", "units/req table", "units/req index", "units/s table",
            "units/s index", "on-demand $/month", f"provisioned share $/month @{u:.0%}", "units"]
    rows = []
    for r in plan["patterns"]:
        if r["measured"]:
            rows.append([r["pattern"], r["kind"], _num(r["rate_rps"]), _num(r["table_units_per_request"], 4),
                         _num(r["index_units_per_request"], 4), _num(r["table_units_per_s"]),
                         _num(r["index_units_per_s"]), _money(r["on_demand_month"]),
                         _money(r["provisioned_month_share"]), r["units_source"]])
        else:
            rows.append([r["pattern"], r["kind"], _num(r["rate_rps"]), *["n/a"] * 6, "NOT MEASURED"])
    t = plan["totals"]
    share = sum(r.get("provisioned_month_share", 0.0) for r in plan["patterns"])
    rows.append(["**total**", "", _num(t["rate_rps"]), "", "", f"RCU {t['rcu_per_s']:,.2f}",
                 f"WCU {t['wcu_per_s']:,.2f}", _money(t["on_demand_requests_month"]), _money(share), ""])
    return [*markdown_table(head, rows), "",
            "Provisioned shares are before rounding to whole units per table and index (below)."]


def capacity_lines(plan: dict[str, Any]) -> list[str]:
    head = ["table / index", "RCU/s", "WCU/s", "provisioned RCU", "provisioned WCU", "$/month"]
    rows = [[c["name"], _num(c["rcu_per_s"]), _num(c["wcu_per_s"]), str(c["provisioned_rcu"]),
             str(c["provisioned_wcu"]), _money(c["provisioned_month"])] for c in plan["capacity"]]
    return markdown_table(head, rows)


def storage_lines(plan: dict[str, Any]) -> list[str]:
    head = ["table / index", "items", "mean item bytes", "GB (incl. 100 B/item)", "note"]
    rows = [[s["name"] if not s["of"] else f"{s['name']} (GSI of {s['of']})", f"{s['items']:,}",
             _num(s["mean_item_bytes"], 1), _num(None if s["bytes"] is None else s["bytes"] / 2**30, 4),
             s["note"]] for s in plan["storage"]]
    return markdown_table(head, rows)


def cost_lines(plan: dict[str, Any]) -> list[str]:
    t, u = plan["totals"], plan["assumptions"]["utilisation"]
    free = plan["prices"]["storage"]["free_gb"]
    head = ["mode", "requests / capacity", "storage", "total $/month"]
    rows = [["on-demand", _money(t["on_demand_requests_month"]), _money(t["storage_month"]),
             _money(t["on_demand_month"])],
            [f"provisioned @{u:.0%}", _money(t["provisioned_capacity_month"]), _money(t["storage_month"]),
             _money(t["provisioned_month"])]]
    lines = [*markdown_table(head, rows), "",
             f"Storage {t['storage_gb']:,.4f} GB in all (first {free:g} GB a month free)."]
    be = t["break_even_utilisation"]
    if be is not None:
        lines.append(f"Break-even utilisation {be:.1%}: provisioned capacity is cheaper than on-demand "
                     f"when it is on average more than {be:.1%} used (whole-unit rounding and the "
                     f"1-unit minimum aside). At the assumed {u:.0%}: {t['cheaper']} is cheaper.")
    if not t["complete"]:
        lines.append("**Totals are incomplete**: see the warnings.")
    return lines


def hot_key_lines(plan: dict[str, Any]) -> list[str]:
    unit = {"read": "RCU", "write": "WCU"}
    head = ["table / index", "kind", "hottest key units/s", "limit/s", "share", "status", "from"]
    rows = [[h["where"], h["kind"], f"{h['units_per_s']:,.2f} {unit[h['kind']]}", f"{h['limit']:,.0f}",
             f"{h['share']:.1%}", h["status"].upper() if h["status"] != "ok" else "ok",
             ", ".join(f"{p} {v:,.2f}" for p, v in h["patterns"].items())] for h in plan["hot_keys"]]
    skew = [f"- {p}: {basis}" for p, basis in plan["assumptions"]["key_skew"].items()
            if any(r["pattern"] == p for r in plan["patterns"])]
    return [*markdown_table(head, rows), "", "Key distributions (the run's):", *skew]


def plan_markdown(plan: dict[str, Any]) -> str:
    src, prices = plan["source"], plan["prices"]
    lines = [f"# Capacity plan from run {src['run_id']} ({src['scenario']})", "",
             f"Target: {describe_target(plan['assumptions']['target'])}.",
             f"Prices: {prices['region']} {prices['table_class']}, as of {prices['as_of']} "
             f"({prices['file']}); {prices['hours_per_month']:g} hours a month.",
             f"Units per request: measured in the run ({src['run_dir']}).", "",
             "## Per access pattern", "", *pattern_lines(plan), "",
             "## Provisioned capacity per table and index", "", *capacity_lines(plan), "",
             "## Storage", "", *storage_lines(plan), "",
             "## Monthly cost", "", *cost_lines(plan), "",
             "## Hot keys (per partition: 3,000 RCU/s, 1,000 WCU/s)", "", *hot_key_lines(plan)]
    if plan["warnings"]:
        lines += ["", "## Warnings", "", *(f"- {w}" for w in plan["warnings"])]
    notes = [*plan.get("notes", []),
             *(f"{r['pattern']}: {r['note']}" for r in plan["patterns"] if r["measured"] and r["note"])]
    if notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"
