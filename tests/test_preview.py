"""The cost preview's arithmetic on literal numbers, the unit budget, and consent."""

from __future__ import annotations

import dataclasses

import pytest

from analysis.prices import load_prices
from ddbbench.budget import UnitBudget, units_of
from ddbbench.consent import Spend, authorise, plan_text
from ddbbench.errors import ConfigError
from ddbbench.preview import (
    DryRun,
    Phase,
    Plan,
    Sizes,
    pattern_units,
    read_units,
    replay_requests,
    units_for_cost,
    write_units,
)
from ddbbench.scenario import Load, Stage

PRICES = load_prices()  # the shipped table: $0.125 per million reads, $0.625 per million writes
SIZES = Sizes(conversation=3000, index_entry=2900, candidate=200, event=300, message=500)


def on_demand(table: str = "T", cls: str = "STANDARD", index: str | None = None) -> dict[str, object]:
    return {"table": table, "index": index, "billing_mode": "on_demand", "read_capacity": None,
            "write_capacity": None, "on_demand_max": None, "warm": None, "table_class": cls}


def plan(phases: list[Phase], tables: list[dict[str, object]] | None = None, region: str = "us-east-1",
         cap: float | None = None) -> Plan:
    return Plan(target="endpoint x", tables=tables or [on_demand()], phases=phases,
                roles={"conversations": "T", "candidates": "T", "events": "T"}, prices=PRICES,
                region=region, hours=1, cap_units=cap)


def test_sizing_rules() -> None:
    assert [read_units(1), read_units(4096), read_units(4097)] == [1, 1, 2]
    assert read_units(4097, strongly=False) == 1.0
    assert [write_units(0), write_units(1024), write_units(1025), write_units(3000)] == [1, 1, 2, 3]


@pytest.mark.parametrize(("pattern", "units"), [
    ("get_conversation", 1),  # 3,000 B strongly consistent: one 4 KB block
    ("query_by_candidate_status", 0.5),  # the index entry, eventually consistent
    ("batch_get_candidates", 10),  # 10 keys, each rounded to 4 KB
    ("update_status", 3 + 2 * 3),  # 3,000 B -> 3 WCU, index delete + put of 2,900 B
    ("append_message", 4 + 4),  # 3,500 B -> 4 WCU, index entry 3,400 B -> 4
    ("create_conversation", 3 + 3),
    ("log_events", 5),  # 5 events of 300 B
])
def test_units_per_request(pattern: str, units: float) -> None:
    assert pattern_units(pattern, SIZES, batch_get=10, log_batch=5) == units


def test_replay_requests_of_each_model() -> None:
    assert replay_requests(Load(model="open", arrival_rate=40, duration_s=3, warmup_s=1)) == 120
    staged = Load(model="open", stages=(Stage(10, 5), Stage(20, 2)), warmup_s=1)
    assert replay_requests(staged) == 90
    assert replay_requests(Load(users=4, rate_per_user=2.5, duration_s=10)) == 100
    assert replay_requests(Load(users=4, rate_per_user=0, duration_s=10)) is None  # unbounded


def test_cost_of_on_demand_units() -> None:
    p = plan([Phase("load", "", {("conversations", "write"): 2_000_000}),
              Phase("replay", "", {("conversations", "read"): 4_000_000})])
    assert (p.read_units, p.write_units) == (4_000_000, 2_000_000)
    assert p.cost() == pytest.approx(2 * 0.625 + 4 * 0.125)  # $1.75


def test_provisioned_tables_bill_hours_not_requests() -> None:
    prov = {**on_demand(), "billing_mode": "provisioned", "read_capacity": 10, "write_capacity": 5}
    p = plan([Phase("replay", "", {("conversations", "write"): 1_000_000})], tables=[prov])
    p.hours = 2
    assert p.cost() == pytest.approx(2 * (10 * 0.00013 + 5 * 0.00065))  # $0.0091


def test_no_price_for_another_region_or_table_class_is_said() -> None:
    assert plan([], region="eu-west-1").cost() is None
    assert plan([], region="eu-west-1").unpriced() == [
        "no price for region eu-west-1 (the price table is for us-east-1)"]
    ia = plan([], tables=[on_demand(cls="STANDARD_INFREQUENT_ACCESS")])
    assert ia.unpriced() == ["no price for table class STANDARD_INFREQUENT_ACCESS (the price table is for "
                             "STANDARD)"]
    assert "price: unknown: no price for table class" in plan_text(ia)


def test_max_cost_as_units_and_the_budget() -> None:
    assert units_for_cost(1.0, PRICES) == pytest.approx(1_600_000)  # at the write price
    assert Spend(max_cost=1.0, max_request_units=1000).budget(PRICES).limit == 1000
    assert Spend().budget(PRICES) is None
    b = UnitBudget(10)
    assert (b.add(4), b.add(5.5), b.exhausted, b.add(0.5), b.remaining) == (False, False, False, True, 0.0)
    assert b.split(2).limit == 0.0 and UnitBudget(9).split(3).limit == 3
    assert units_of([{"CapacityUnits": 2.0}, {"CapacityUnits": 1.5}]) == 3.5
    assert units_of({"CapacityUnits": 1.0}) == 1.0 and units_of(None) == 0.0


def test_consent() -> None:
    shown: list[str] = []
    p = plan([Phase("replay", "120 requests", {("conversations", "read"): 120})])
    with pytest.raises(ConfigError, match="not confirmed"):
        authorise(p, Spend(), shown.append, ask=lambda _q: "no")
    assert "Cost preview" in shown[0] and "as of 2024-11-01" in shown[0]
    authorise(p, Spend(), shown.append, ask=lambda _q: "yes")
    authorise(p, Spend(yes=True), shown.append)
    with pytest.raises(DryRun) as dry:
        authorise(p, Spend(dry_run=True, yes=True), shown.append)
    assert dry.value.exit_code == 0
    with pytest.raises(ConfigError, match=r"--max-cost 1e-06: the plan costs ~\$0.0000"):
        authorise(dataclasses.replace(p), Spend(yes=True, max_cost=1e-6), shown.append)
    unbounded = plan([Phase("replay", "unpaced", bounded=False)])
    with pytest.raises(ConfigError, match="has no bound off DynamoDB Local"):
        authorise(unbounded, Spend(yes=True), shown.append)
    authorise(plan([Phase("replay", "unpaced", bounded=False)], cap=100), Spend(yes=True), shown.append)
    with pytest.raises(ConfigError, match="no price to check it against"):
        authorise(plan([], region="eu-west-1"), Spend(yes=True, max_cost=5), shown.append)


def test_spend_refuses_a_cap_that_is_not_positive() -> None:
    with pytest.raises(ConfigError, match="--max-request-units: 0 is not a positive number"):
        Spend(max_request_units=0)
