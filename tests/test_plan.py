"""Capacity planning: projections and prices against examples computed by hand.

The worked example of docs/capacity-planning.md is ``test_worked_example_of_the_docs``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from analysis.hotkeys import hottest_owner, scenario_skew
from analysis.plan import (
    KeySkew,
    PatternInput,
    TableInput,
    break_even_utilisation,
    build_plan,
    conversation_rates,
    parse_rates,
    project,
    resolve_units,
    split_total,
    whole_units,
)
from analysis.plan_results import CapacityPlan
from analysis.prices import DEFAULT_PRICES, load_prices
from datagen.keyspace import Keyspace
from ddbbench.errors import ConfigError
from ddbbench.keydist import Uniform, Zipfian
from ddbbench.scenario import Dataset, KeyChoice, Keys, Scenario

PRICES = load_prices()  # us-east-1: $0.125 / $0.625 per million, $0.00013 / $0.00065 per hour
CONV, GSI, CAND = "PoppAIChatConversations", "candidateId-status-index", "PoppAICandidateProfiles"


def get_conversation(**kw: object) -> PatternInput:
    return dataclasses.replace(PatternInput("get_conversation", "read", CONV, None, 1000, 0.5, 0.0), **kw)


def update_status(**kw: object) -> PatternInput:
    return dataclasses.replace(PatternInput("update_status", "write", CONV, GSI, 500, 1.1, 1.4), **kw)


TABLES = (TableInput(CONV, 40_000_000, 671.7, ((GSI, "ALL"),)), TableInput(CAND, 2_000_000, 137.4))


def plan_of(rates: dict[str, float], patterns: tuple[PatternInput, ...] = (), skew: dict | None = None,
            tables: tuple[TableInput, ...] = TABLES, utilisation: float = 0.7) -> dict:
    patterns = patterns or (get_conversation(), update_status())
    return build_plan({p.name: p for p in patterns}, rates, tables, skew or {}, PRICES, utilisation)


def test_the_shipped_price_table_is_the_field_notes_one() -> None:
    assert (PRICES.region, PRICES.hours_per_month) == ("us-east-1", 730)
    assert (PRICES.on_demand.read_per_million, PRICES.on_demand.write_per_million) == (0.125, 0.625)
    assert (PRICES.provisioned.rcu_hour, PRICES.provisioned.wcu_hour) == (0.00013, 0.00065)
    assert (PRICES.storage.gb_month, PRICES.storage.free_gb) == (0.25, 25)


def test_worked_example_of_the_docs() -> None:
    plan = plan_of({"get_conversation": 100, "update_status": 20})
    get, update = plan["patterns"]
    # 100/s x 0.5 RCU = 50 RCU/s; a month is 730 h x 3,600 s = 2,628,000 s.
    assert get["units_per_s"] == pytest.approx(50.0)
    assert get["on_demand_month"] == pytest.approx(16.425)  # 131.4 M x $0.125 / M
    # 20/s x (1.1 table + 1.4 index) = 22 + 28 = 50 WCU/s.
    assert (update["table_units_per_s"], update["index_units_per_s"]) == pytest.approx((22.0, 28.0))
    assert update["on_demand_month"] == pytest.approx(82.125)  # 131.4 M x $0.625 / M
    capacity = {c["name"]: c for c in plan["capacity"]}
    # At 70%: table 50/0.7 -> 72 RCU, 22/0.7 -> 32 WCU; the GSI 28/0.7 = 40 WCU exactly and
    # the 1-unit minimum for its reads; the candidates table idles at 1 + 1.
    assert (capacity[CONV]["provisioned_rcu"], capacity[CONV]["provisioned_wcu"]) == (72, 32)
    assert (capacity[GSI]["provisioned_rcu"], capacity[GSI]["provisioned_wcu"]) == (1, 40)
    assert (capacity[CAND]["provisioned_rcu"], capacity[CAND]["provisioned_wcu"]) == (1, 1)
    assert capacity[CONV]["provisioned_month"] == pytest.approx(22.0168)  # (72 x .00013 + 32 x .00065) x 730
    assert capacity[GSI]["provisioned_month"] == pytest.approx(19.0749)
    assert capacity[CAND]["provisioned_month"] == pytest.approx(0.5694)
    t = plan["totals"]
    assert t["on_demand_requests_month"] == pytest.approx(98.55)
    assert t["provisioned_capacity_month"] == pytest.approx(41.6611)
    # Storage: 40 M x (671.7 + 100) B twice (table + GSI ALL) + 2 M x (137.4 + 100) B
    # = 62,210,800,000 B = 57.938 GB; 32.938 GB over the free 25 at $0.25.
    assert t["storage_bytes"] == pytest.approx(62_210_800_000)
    assert t["storage_month"] == pytest.approx(8.2346, abs=1e-4)
    assert t["on_demand_month"] == pytest.approx(98.55 + 8.2346, abs=1e-4)
    assert t["provisioned_month"] == pytest.approx(41.6611 + 8.2346, abs=1e-4)
    assert t["cheaper"] == "provisioned" and t["complete"]
    # Both break-evens are 0.00013 / (3,600 x 0.125e-6) = 0.00065 / (3,600 x 0.625e-6) = 13/45.
    assert t["break_even_utilisation"] == pytest.approx(13 / 45)


def test_break_even_weights_reads_and_writes_by_their_cost() -> None:
    prices = dataclasses.replace(
        PRICES, on_demand=dataclasses.replace(PRICES.on_demand, read_per_million=0.25, write_per_million=1.0),
        provisioned=dataclasses.replace(PRICES.provisioned, rcu_hour=0.00045, wcu_hour=0.0009))
    # Reads alone break even at 0.00045 / (3,600 x 0.25e-6) = 0.5, writes at 0.0009 / 0.0036 = 0.25.
    assert break_even_utilisation(100, 0, prices) == pytest.approx(0.5)
    assert break_even_utilisation(0, 100, prices) == pytest.approx(0.25)
    # Together: (100 x 0.00045 + 100 x 0.0009) x 730 = 98.55 against (25 + 100) x 2.628 = 328.5.
    assert break_even_utilisation(100, 100, prices) == pytest.approx(0.3)
    assert break_even_utilisation(0, 0, prices) is None


def test_provisioning_at_break_even_costs_what_on_demand_does() -> None:
    plan = plan_of({"get_conversation": 7000, "update_status": 3000})
    be = plan["totals"]["break_even_utilisation"]
    shares = plan_of({"get_conversation": 7000, "update_status": 3000}, utilisation=be)["patterns"]
    for row in shares:  # before whole-unit rounding the two modes meet exactly there
        assert row["provisioned_month_share"] == pytest.approx(row["on_demand_month"])


def test_whole_units_round_up_but_not_float_noise() -> None:
    assert whole_units(28.0, 0.7) == 40  # 28 / 0.7 is 40.000000000000004 in floating point
    assert whole_units(28.01, 0.7) == 41
    assert whole_units(0.0, 0.7) == 1


def test_storage_of_a_non_all_projection_is_not_guessed() -> None:
    tables = (TableInput(CONV, 1000, 500.0, ((GSI, "KEYS_ONLY"),)),)
    plan = plan_of({"get_conversation": 1}, tables=tables)
    gsi = next(s for s in plan["storage"] if s["name"] == GSI)
    assert gsi["bytes"] is None and "KEYS_ONLY" in gsi["note"]
    assert plan["totals"]["storage_bytes"] == 1000 * 600 and not plan["totals"]["complete"]
    assert any("storage of candidateId-status-index" in w for w in plan["warnings"])


def test_unmeasured_patterns_are_flagged_not_priced_at_zero() -> None:
    silent = update_status(table_units=0.0, index_units=0.0)  # a target reporting no capacity
    plan = plan_of({"get_conversation": 10, "update_status": 10}, patterns=(get_conversation(), silent))
    row = plan["patterns"][1]
    assert not row["measured"] and "on_demand_month" not in row
    assert "reported no consumed capacity" in row["note"]
    assert plan["totals"]["wcu_per_s"] == 0 and not plan["totals"]["complete"]
    assert any(w.startswith("update_status: not measured") for w in plan["warnings"])
    assert resolve_units(get_conversation(count=0)).status == "not measured"


def test_reads_local_reported_as_zero_units_are_charged_the_minimum() -> None:
    # 26 queries, 2 found nothing: DynamoDB Local said 0 units, the service charges 0.5 each.
    query = PatternInput("query_by_candidate_status", "read", CONV, GSI, 26, 0.0, 12 / 26,
                         empty_reads=2, rows=26)
    units = resolve_units(query)
    assert units.index == pytest.approx(13 / 26) and units.table == 0
    assert units.status == "measured + minimum" and "2 of 26" in units.note
    strong = resolve_units(dataclasses.replace(query, index=None, min_read_units=1.0, index_units=0.0,
                                               table_units=24 / 26))
    assert strong.table == pytest.approx(1.0)  # strongly consistent: a minimum of 1 RCU


def test_target_rates_from_a_total_and_from_conversations() -> None:
    mix = {"get_conversation": 40, "query_by_candidate_status": 30, "update_status": 15,
           "append_message": 15, "batch_get_candidates": 0}
    assert split_total(200, mix) == {"get_conversation": 80, "query_by_candidate_status": 60,
                                     "update_status": 30, "append_message": 30}
    # 86,400 conversations a day x 9 messages = 9 appends/s; the rest keep their ratio to it.
    rates = conversation_rates(86_400, 9, mix)
    assert rates == pytest.approx({"get_conversation": 24, "query_by_candidate_status": 18,
                                   "update_status": 9, "append_message": 9})
    with pytest.raises(ConfigError, match="no append_message"):
        conversation_rates(1000, 9, {**mix, "append_message": 0})
    with pytest.raises(ConfigError, match="--total-rps: -5 is not a rate > 0"):
        split_total(-5, mix)


@pytest.mark.parametrize(("specs", "message"), [
    (["get_conversatoin=5"], "--rate: unknown pattern 'get_conversatoin'; allowed: get_conversation, "),
    (["get_conversation=-1"], "--rate get_conversation: -1 is not a rate >= 0"),
    (["get_conversation=fast"], "--rate get_conversation: 'fast' is not a number"),
    (["get_conversation=nan"], "--rate get_conversation: nan is not a rate >= 0"),
    (["get_conversation"], "'get_conversation' is not PATTERN=REQUESTS_PER_S"),
    (["get_conversation=1", "get_conversation=2"], "get_conversation given twice"),
])
def test_bad_rates_name_the_value_and_what_is_allowed(specs: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_rates(specs, ["get_conversation", "update_status"])
    assert message in str(err.value)


def hot(plan: dict, where: str, kind: str) -> dict:
    return next(h for h in plan["hot_keys"] if (h["where"], h["kind"]) == (where, kind))


def skewed(pattern: str, choice: KeyChoice, conversations: int) -> Scenario:
    return Scenario(dataset=Dataset(conversations=conversations, candidates=100),
                    keys=Keys(**{pattern: choice}))


def test_a_hotspot_writes_past_the_partition_limit_and_uniform_does_not() -> None:
    writes = update_status(table_units=2.0, index_units=0.0)
    hotspot = KeyChoice(distribution="hotspot", hot_keys=0.01, hot_requests=0.9)
    skew = scenario_skew(skewed("update_status", hotspot, 1000))
    plan = plan_of({"update_status": 6000}, patterns=(writes,), skew=skew)
    # 10 hot keys share 90% of requests: 0.09 x 6,000/s x 2 WCU = 1,080 WCU/s > 1,000.
    row = hot(plan, CONV, "write")
    assert row["units_per_s"] == pytest.approx(1080) and row["status"] == "over limit"
    assert any(w.startswith("HOT KEY") and CONV in w and "108%" in w for w in plan["warnings"])
    uniform = plan_of({"update_status": 6000}, patterns=(writes,),
                      skew=scenario_skew(skewed("update_status", KeyChoice(), 1000)))
    row = hot(uniform, CONV, "write")
    assert row["units_per_s"] == pytest.approx(12.0) and row["status"] == "ok"  # 6,000 x 2 / 1,000
    assert not any("HOT KEY" in w or "warm key" in w for w in uniform["warnings"])


def test_a_zipfian_read_past_the_partition_limit() -> None:
    skew = scenario_skew(skewed("get_conversation", KeyChoice(distribution="zipfian", zipf_s=0.99), 500))
    plan = plan_of({"get_conversation": 50_000}, patterns=(get_conversation(),), skew=skew)
    p0 = 1 / sum(k**-0.99 for k in range(1, 501))  # rank 1's share, 0.1431
    row = hot(plan, CONV, "read")
    assert row["units_per_s"] == pytest.approx(50_000 * 0.5 * p0) and row["status"] == "over limit"
    calm = plan_of({"get_conversation": 50_000}, patterns=(get_conversation(),),
                   skew=scenario_skew(skewed("get_conversation", KeyChoice(), 500)))
    assert hot(calm, CONV, "read")["units_per_s"] == pytest.approx(50.0)  # 25,000 RCU/s over 500


def test_a_warm_key_is_reported_below_the_limit() -> None:
    skew = {"update_status": KeySkew(table_p=0.3, index_p=0.0)}
    plan = plan_of({"update_status": 1000}, patterns=(update_status(index_units=0.0),), skew=skew)
    assert hot(plan, CONV, "write")["units_per_s"] == pytest.approx(330.0)  # 0.3 x 1,000 x 1.1
    assert hot(plan, CONV, "write")["status"] == "ok"
    plan = plan_of({"update_status": 2000}, patterns=(update_status(index_units=0.0),), skew=skew)
    assert hot(plan, CONV, "write")["status"] == "warm"
    assert any(w.startswith("warm key") and "66%" in w for w in plan["warnings"])


def test_the_index_hot_key_gathers_a_candidates_conversations() -> None:
    keys = Keyspace(seed=3, conversations=300, candidates=40, jobs=5)
    owners = [keys.conversation(i).candidate_index for i in range(300)]
    # Uniform conversations: the candidate owning the most conversations is the hottest.
    most = max(owners.count(c) for c in range(40))
    assert hottest_owner(Uniform(300), keys, lambda: owners) == pytest.approx(most / 300)
    zipf = Zipfian(300, 1.1)
    expected = max(sum(zipf.probability(i) for i in range(300) if owners[i] == c) for c in range(40))
    assert hottest_owner(zipf, keys, lambda: owners) == pytest.approx(expected)
    assert expected >= zipf.probability(0)


def test_price_tables_are_validated(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEFAULT_PRICES.read_text())
    bad = tmp_path / "p.yaml"
    bad.write_text(yaml.safe_dump({**doc, "provisioned": {"rcu_hour": -1, "wcu_hour": 0.00065}}))
    with pytest.raises(ConfigError, match=r"provisioned.rcu_hour: -1 is not a price in USD >= 0"):
        load_prices(bad)
    bad.write_text(yaml.safe_dump({**doc, "storage": {"gb_month": 0.25}}))
    with pytest.raises(ConfigError, match=r"storage.free_gb: missing; every price must be given"):
        load_prices(bad)
    bad.write_text(yaml.safe_dump({**doc, "on_demand": {**doc["on_demand"], "reads": 1}}))
    with pytest.raises(ConfigError, match=r"on_demand.reads: unknown key"):
        load_prices(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_prices(tmp_path / "missing.yaml")
    good = tmp_path / "eu.yaml"
    good.write_text(json.dumps({**doc, "region": "eu-west-1",
                                "on_demand": {"read_per_million": 0.1415, "write_per_million": 0.7065}}))
    assert load_prices(good).on_demand.write_per_million == 0.7065


def test_the_typed_plan_reads_back_its_document() -> None:
    rates = {"get_conversation": 100, "update_status": 20}
    patterns = {p.name: p for p in (get_conversation(), update_status(table_units=0.0, index_units=0.0))}
    plan = project(patterns, rates, TABLES, {}, PRICES, 0.7)
    doc = json.loads(json.dumps(plan.to_dict()))
    assert doc == build_plan(patterns, rates, TABLES, {}, PRICES, 0.7)
    assert "units_per_s" not in doc["patterns"][1] and doc["patterns"][0]["units_per_s"] == 50.0
    assert CapacityPlan.from_dict(doc) == plan
    assert plan.totals is not None and not plan.totals.complete
