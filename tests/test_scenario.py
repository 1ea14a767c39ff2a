"""Unit tests for the scenario model (ddbbench/scenario.py) and its strict builder (ddbbench/typed.py)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ddbbench.errors import BenchError, ConfigError
from ddbbench.facts import PATTERN_FACTS
from ddbbench.scenario import (
    PATTERNS,
    SEED_PATTERNS,
    STATUSES,
    Client,
    Dataset,
    KeyChoice,
    Keys,
    Load,
    Loader,
    Mix,
    Objective,
    Range,
    Scenario,
    Slo,
    Stage,
    Tables,
    check_target,
    load_scenario,
    load_scenarios,
    parse_scenarios,
)
from ddbbench.typed import Rule, build

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "scenarios.yaml"

SCENARIO_KEYS = ("name, description, target, region, design, dataset, tables, table_settings, mix, keys, "
                 "load, measurement, slo, client, loader")
TABLE_RULE = "is not a table/index name (3-255 of a-z A-Z 0-9 _ - .)"
EMPTY = "scenarios: expected a non-empty mapping of scenario name to settings"
LOAD_KEYS = ("model, users, spawn_rate, duration_s, rate_per_user, arrival_rate, stages, max_in_flight, "
             "processes, warmup_requests, warmup_s, calibration_requests, deterministic")
KEYS_KEYS = ("default, get_conversation, query_by_candidate_status, update_status, append_message, "
             "batch_get_candidates, log_events, batch_get_size, log_events_batch_size, query_statuses")
DISTRIBUTIONS = "uniform, zipfian, hotspot, latest"


def doc_with(body: Any, name: str = "x") -> dict[str, Any]:
    """A minimal valid document holding one scenario ``name`` with ``body``."""
    return {"version": 1, "scenarios": {name: body}}


def config_error(doc: Any) -> str:
    """The message of the ConfigError that parsing ``doc`` raises."""
    with pytest.raises(ConfigError) as info:
        parse_scenarios(doc)
    return str(info.value)


def write(tmp_path: Path, text: str | bytes, name: str = "scenarios.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- the shipped scenarios file ------------------------------------------------------------


def test_shipped_file_has_smoke_smoke_open_and_baseline() -> None:
    scenarios = load_scenarios(SHIPPED)
    assert list(scenarios) == ["smoke", "smoke-open", "baseline", "designs", "ci"]
    assert all(isinstance(sc, Scenario) for sc in scenarios.values())
    assert scenarios["smoke"].name == "smoke"
    assert scenarios["smoke-open"].name == "smoke-open"
    assert scenarios["baseline"].name == "baseline"


def test_shipped_smoke_values() -> None:
    sc = load_scenario(SHIPPED, "smoke")
    assert sc.target == "local"
    assert sc.dataset == Dataset(seed=7, candidates=100, conversations=500, jobs=20,
                                 messages=Range(min=1, max=6))
    assert sc.load == Load(users=4, spawn_rate=4.0, duration_s=10.0, rate_per_user=10.0,
                           warmup_requests=300, warmup_s=5.0)
    assert sc.load.model == "closed"
    assert sc.load.run_time_s == 10.0
    assert sc.mix == Mix(30.0, 20.0, 15.0, 15.0, 10.0, 10.0, 10.0)  # all seven patterns
    assert sc.keys == Keys(get_conversation=KeyChoice(distribution="zipfian", zipf_s=0.99))
    assert sc.keys.for_pattern("get_conversation") == KeyChoice("zipfian", 0.99, 0.01, 0.9)
    assert sc.keys.for_pattern("update_status") == KeyChoice("uniform", 0.99, 0.01, 0.9)
    # Omitted sections take their defaults.
    assert sc.slo == Slo(99.0, 10.0)
    assert sc.tables == Tables()


def test_shipped_smoke_open_values() -> None:
    sc = load_scenario(SHIPPED, "smoke-open")
    assert sc.dataset == Dataset(seed=7, candidates=100, conversations=500, jobs=20,
                                 messages=Range(min=1, max=6))
    assert sc.mix == Mix(30.0, 20.0, 15.0, 15.0, 10.0, 10.0, 10.0)
    assert sc.keys == Keys()
    assert sc.load == Load(model="open", stages=(Stage(6.0, 40.0), Stage(6.0, 60.0)), max_in_flight=32)
    assert sc.load.duration_s is None
    assert sc.load.run_time_s == 12.0
    assert sc.load.arrival_stages() == (Stage(6.0, 40.0), Stage(6.0, 60.0))


def test_shipped_baseline_values() -> None:
    sc = load_scenario(str(SHIPPED), "baseline")
    assert sc.dataset == Dataset(seed=42, candidates=2000, conversations=10000, jobs=200,
                                 messages=Range(min=2, max=16))
    assert sc.mix.weights() == {"get_conversation": 40.0, "query_by_candidate_status": 30.0,
                                "update_status": 15.0, "append_message": 15.0,
                                "batch_get_candidates": 0.0, "create_conversation": 0.0, "log_events": 0.0}
    assert (sc.load.users, sc.load.spawn_rate, sc.load.duration_s) == (10, 10.0, 90.0)
    assert (sc.load.model, sc.load.stages, sc.load.run_time_s) == ("closed", (), 90.0)
    assert sc.keys == Keys()
    assert (sc.slo.percentile, sc.slo.threshold_ms) == (99.0, 10.0)
    assert sc.description.startswith("The default main job: the seed system's four access patterns")


def test_integers_in_float_fields_become_floats() -> None:
    sc = load_scenario(SHIPPED, "smoke")
    assert type(sc.load.duration_s) is float
    assert type(sc.load.spawn_rate) is float
    assert type(sc.load.users) is int


def test_scenario_is_frozen() -> None:
    sc = load_scenario(SHIPPED, "smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.target = "aws"  # type: ignore[misc]


def test_to_dict_round_trips_through_parse() -> None:
    sc = load_scenario(SHIPPED, "baseline")
    body = sc.to_dict()
    assert body["tables"] == {"conversations": "PoppAIChatConversations",
                              "status_index": "candidateId-status-index",
                              "candidates": "PoppAICandidateProfiles", "events": "PoppAIEventLog",
                              "prefix": ""}
    del body["name"]
    assert parse_scenarios(doc_with(body, "baseline"))["baseline"] == sc


@pytest.mark.parametrize("name", ["smoke", "smoke-open", "baseline", "designs", "ci"])
def test_to_dict_is_json_ready_and_round_trips(name: str) -> None:
    sc = load_scenario(SHIPPED, name)
    body = sc.to_dict()
    assert json.loads(json.dumps(body)) == body  # plain JSON data: lists, not tuples
    assert body["name"] == name
    del body["name"]
    assert parse_scenarios(doc_with(body, name))[name] == sc


def test_to_dict_stages_are_lists_of_mappings() -> None:
    body = load_scenario(SHIPPED, "smoke-open").to_dict()
    assert body["load"]["stages"] == [{"duration_s": 6.0, "rate": 40.0}, {"duration_s": 6.0, "rate": 60.0}]
    assert body["load"]["duration_s"] is None
    assert body["load"]["model"] == "open"
    assert body["keys"]["get_conversation"] is None
    assert body["keys"]["default"] == {"distribution": "uniform", "zipf_s": 0.99, "hot_keys": 0.01,
                                       "hot_requests": 0.9}
    assert body["keys"]["batch_get_size"] == 10
    assert load_scenario(SHIPPED, "smoke").to_dict()["keys"]["get_conversation"] == {
        "distribution": "zipfian", "zipf_s": 0.99, "hot_keys": 0.01, "hot_requests": 0.9}


# --- defaults ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, None])
def test_empty_scenario_gets_all_defaults(body: Any) -> None:
    sc = parse_scenarios(doc_with(body, "bare"))["bare"]
    assert sc == Scenario(name="bare")
    assert sc.tables.conversations == "PoppAIChatConversations"
    assert sc.tables.status_index == "candidateId-status-index"
    assert sc.tables.candidates == "PoppAICandidateProfiles"
    assert (sc.target, sc.region, sc.description) == ("local", "us-east-1", "")
    assert sc.dataset == Dataset(seed=42, candidates=1000, conversations=5000, jobs=200,
                                 messages=Range(2, 12))
    assert sc.load == Load(model="closed", users=8, spawn_rate=8.0, duration_s=None,
                           rate_per_user=10.0, warmup_requests=None, warmup_s=5.0)
    assert sc.load.run_time_s == 60.0
    assert sc.client == Client("standard", 3, 2.0, 5.0)
    assert sc.loader == Loader(4)


def test_partial_section_keeps_other_defaults() -> None:
    sc = parse_scenarios(doc_with({"load": {"users": 3}, "dataset": {"messages": {"max": 20}}}))["x"]
    assert sc.load == Load(users=3)
    assert sc.load.duration_s is None
    assert sc.load.run_time_s == 60.0
    assert sc.dataset.messages == Range(min=2, max=20)
    assert sc.dataset.seed == 42


def test_null_section_means_defaults() -> None:
    sc = parse_scenarios(doc_with({"mix": None, "slo": None}))["x"]
    assert sc.mix == Mix()
    assert sc.slo == Slo()


def test_mix_weights_order_matches_patterns() -> None:
    assert tuple(Mix().weights()) == PATTERNS
    assert SEED_PATTERNS == ("get_conversation", "query_by_candidate_status", "update_status",
                             "append_message")
    assert PATTERNS[:4] == SEED_PATTERNS
    assert PATTERNS[4:] == ("batch_get_candidates", "create_conversation", "log_events")
    assert Mix().weights() == {"get_conversation": 40.0, "query_by_candidate_status": 30.0,
                               "update_status": 15.0, "append_message": 15.0,
                               "batch_get_candidates": 0.0, "create_conversation": 0.0, "log_events": 0.0}
    assert STATUSES == ("CREATED", "ONGOING", "COMPLETED")


def test_several_scenarios_keep_file_order_and_names() -> None:
    doc = {"version": 1, "scenarios": {"b-2": {}, "a_1": {"target": "aws"}, "C3": None}}
    result = parse_scenarios(doc)
    assert list(result) == ["b-2", "a_1", "C3"]
    assert [sc.name for sc in result.values()] == ["b-2", "a_1", "C3"]
    assert result["a_1"].target == "aws"


@pytest.mark.parametrize("target", ["local", "aws", "http://localhost:8000",
                                    "https://dynamodb.eu-west-1.amazonaws.com"])
def test_valid_targets(target: str) -> None:
    assert parse_scenarios(doc_with({"target": target}))["x"].target == target
    check_target(target, "--target")  # does not raise


@pytest.mark.parametrize("name", ["abc", "a.b-c_1", "T" * 255])
def test_valid_table_names(name: str) -> None:
    sc = parse_scenarios(doc_with({"tables": {"conversations": name}}))["x"]
    assert sc.tables.conversations == name


def test_zero_weight_allowed_if_another_is_positive() -> None:
    mix = {"get_conversation": 0, "query_by_candidate_status": 0, "update_status": 0, "append_message": 1}
    sc = parse_scenarios(doc_with({"mix": mix}))["x"]
    assert sc.mix.weights() == {"get_conversation": 0.0, "query_by_candidate_status": 0.0,
                                "update_status": 0.0, "append_message": 1.0,
                                "batch_get_candidates": 0.0, "create_conversation": 0.0, "log_events": 0.0}


def test_only_new_patterns_weighted_is_valid() -> None:
    mix = {"get_conversation": 0, "query_by_candidate_status": 0, "update_status": 0, "append_message": 0,
           "create_conversation": 2}
    sc = parse_scenarios(doc_with({"mix": mix}))["x"]
    assert sc.mix == Mix(0.0, 0.0, 0.0, 0.0, 0.0, 2.0)


def test_range_min_equal_max_is_valid() -> None:
    sc = parse_scenarios(doc_with({"dataset": {"messages": {"min": 0, "max": 0}}}))["x"]
    assert sc.dataset.messages == Range(0, 0)


def test_rate_per_user_zero_and_warmup_zero_are_valid() -> None:
    sc = parse_scenarios(doc_with({"load": {"rate_per_user": 0, "warmup_s": 0, "warmup_requests": 0}}))["x"]
    assert (sc.load.rate_per_user, sc.load.warmup_s, sc.load.warmup_requests) == (0.0, 0.0, 0)



def test_warmup_defaults_to_the_jit_warmup_on_local_and_to_nothing_where_billed() -> None:
    unset = parse_scenarios(doc_with({"load": {}}))["x"].load
    assert unset.warmup_requests is None
    assert [unset.warmup_for(k) for k in ("local", "endpoint", "aws")] == [3000, 0, 0]
    given = parse_scenarios(doc_with({"load": {"warmup_requests": 40}}))["x"].load
    assert [given.warmup_for(k) for k in ("local", "endpoint", "aws")] == [40, 40, 40]

# --- errors: exact messages ----------------------------------------------------------------


def test_negative_weight_message() -> None:
    # The message echoes the value as written in the file ("-1", not the coerced "-1.0").
    doc = doc_with({"mix": {"get_conversation": -1}}, "baseline")
    assert config_error(doc) == "scenarios.baseline.mix.get_conversation: -1 is not a weight >= 0"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # unknown keys (typos) name the path and list what is allowed
        ({"laod": {}}, f"scenarios.x.laod: unknown key; allowed keys: {SCENARIO_KEYS}"),
        ({"load": {"user": 3}}, f"scenarios.x.load.user: unknown key; allowed keys: {LOAD_KEYS}"),
        ({"dataset": {"messages": {"mni": 1}}},
         "scenarios.x.dataset.messages.mni: unknown key; "
         "allowed keys: min, max, distribution, median, sigma"),
        ({"name": "y"}, "scenarios.x.name: unknown key; the name is the mapping key"),
        # wrong types, never coerced
        ({"load": {"users": "5"}}, "scenarios.x.load.users: '5' is not an integer"),
        ({"load": {"users": True}}, "scenarios.x.load.users: True is not an integer"),
        ({"dataset": {"seed": 1.5}}, "scenarios.x.dataset.seed: 1.5 is not an integer"),
        ({"load": {"duration_s": "60"}}, "scenarios.x.load.duration_s: '60' is not a number"),
        ({"load": {"duration_s": False}}, "scenarios.x.load.duration_s: False is not a number"),
        ({"description": 5}, "scenarios.x.description: 5 is not a string"),
        ({"target": None}, "scenarios.x.target: None is not a string"),
        ({"dataset": [1, 2]}, "scenarios.x.dataset: expected a mapping, got a list [1, 2]"),
        ({"slo": "fast"}, "scenarios.x.slo: expected a mapping, got a string 'fast'"),
        ({"loader": 4}, "scenarios.x.loader: expected a mapping, got a number 4"),
        (["a"], "scenarios.x: expected a mapping, got a list ['a']"),
        # bounds
        ({"load": {"users": 0}}, "scenarios.x.load.users: 0 is not a user count >= 1"),
        ({"load": {"spawn_rate": 0}}, "scenarios.x.load.spawn_rate: 0 is not users per second > 0"),
        ({"dataset": {"candidates": 0}}, "scenarios.x.dataset.candidates: 0 is not a count >= 1"),
        ({"dataset": {"messages": {"min": -1}}},
         "scenarios.x.dataset.messages.min: -1 is not a count >= 0"),
        ({"slo": {"percentile": 100.5}}, "scenarios.x.slo.percentile: 100.5 is not a percentile > 0 <= 100"),
        ({"slo": {"threshold_ms": 0}}, "scenarios.x.slo.threshold_ms: 0 is not a latency in ms > 0"),
        ({"loader": {"workers": 65}}, "scenarios.x.loader.workers: 65 is not a thread count >= 1 <= 64"),
        ({"client": {"retry_mode": "fast"}},
         "scenarios.x.client.retry_mode: 'fast' is not a retry mode in standard, adaptive, legacy"),
        # cross-field rules
        ({"dataset": {"messages": {"min": 5, "max": 3}}},
         "scenarios.x.dataset.messages.max: 3 is not a count >= min (5)"),
        ({"dataset": {"messages": {"min": 13}}},
         "scenarios.x.dataset.messages.max: 12 is not a count >= min (13)"),
        ({"mix": {"get_conversation": 0, "query_by_candidate_status": 0, "update_status": 0,
                  "append_message": 0}},
         "scenarios.x.mix: all weights are 0; at least one must be > 0"),
        ({"mix": {"batch_get_candidates": -2}},
         "scenarios.x.mix.batch_get_candidates: -2 is not a weight >= 0"),
        ({"load": {"duration_s": 5, "warmup_s": 5}},
         "scenarios.x.load.warmup_s: 5 is not a duration < the run time (5); nothing would be measured"),
        ({"load": {"duration_s": 10, "warmup_s": 10.5}},
         "scenarios.x.load.warmup_s: 10.5 is not a duration < the run time (10); nothing would be measured"),
        ({"load": {"duration_s": 3}},
         "scenarios.x.load.warmup_s: 5 is not a duration < the run time (3); nothing would be measured"),
        # targets and table names
        ({"target": "ftp://x"},
         "scenarios.x.target: 'ftp://x' is not a target; allowed: local, aws, or an http(s):// URL"),
        ({"target": "Local"},
         "scenarios.x.target: 'Local' is not a target; allowed: local, aws, or an http(s):// URL"),
        ({"tables": {"conversations": "my table"}},
         f"scenarios.x.tables.conversations: 'my table' {TABLE_RULE}"),
        ({"tables": {"status_index": "ix"}},
         f"scenarios.x.tables.status_index: 'ix' {TABLE_RULE}"),
        ({"tables": {"candidates": "Kandidat\u00e9n"}},
         f"scenarios.x.tables.candidates: 'Kandidat\u00e9n' {TABLE_RULE}"),
    ],
)
def test_invalid_scenario_body_messages(body: Any, message: str) -> None:
    assert config_error(doc_with(body)) == message


def test_table_name_longer_than_255_is_rejected() -> None:
    name = "T" * 256
    assert config_error(doc_with({"tables": {"conversations": name}})) == (
        f"scenarios.x.tables.conversations: {name!r} {TABLE_RULE}")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1], "scenarios: expected a mapping with 'version' and 'scenarios'"),
        (None, "scenarios: expected a mapping with 'version' and 'scenarios'"),
        ({"version": 1, "scenarios": {"x": {}}, "extra": 1},
         "extra: unknown top-level key; allowed: version, scenarios"),
        ({"version": 2, "scenarios": {"x": {}}}, "version: 2 is not a supported version (1)"),
        ({"version": "1", "scenarios": {"x": {}}}, "version: '1' is not a supported version (1)"),
        ({"scenarios": {"x": {}}}, "version: None is not a supported version (1)"),
        ({"version": 1, "scenarios": {}}, EMPTY),
        ({"version": 1}, EMPTY),
        ({"version": 1, "scenarios": ["x"]},
         EMPTY),
        ({"version": 1, "scenarios": {"my scenario": {}}},
         "scenarios.my scenario: 'my scenario' is not a name of letters, digits, - and _"),
        ({"version": 1, "scenarios": {"-": {}}},
         "scenarios.-: '-' is not a name of letters, digits, - and _"),
        ({"version": 1, "scenarios": {7: {}}}, "scenarios.7: 7 is not a name of letters, digits, - and _"),
    ],
)
def test_invalid_document_messages(doc: Any, message: str) -> None:
    assert config_error(doc) == message


def test_source_names_the_document_in_top_level_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenarios("just text", source="my.yaml")
    assert str(info.value) == "my.yaml: expected a mapping with 'version' and 'scenarios'"


def test_first_bad_scenario_is_reported() -> None:
    doc = {"version": 1, "scenarios": {"good": {}, "bad": {"load": {"users": -2}}}}
    assert config_error(doc) == "scenarios.bad.load.users: -2 is not a user count >= 1"


def test_config_error_is_a_bench_error_with_exit_code_2() -> None:
    assert issubclass(ConfigError, BenchError)
    assert ConfigError.exit_code == 2
    assert BenchError.exit_code == 1


def test_nan_weight_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"mix\.get_conversation: nan is not a finite number$"):
        parse_scenarios(doc_with({"mix": {"get_conversation": float("nan")}}))


def test_boolean_version_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"^version: True is not a supported version \(1\)$"):
        parse_scenarios({"version": True, "scenarios": {"x": {}}})


def test_mixed_type_unknown_top_level_keys_give_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^2: unknown top-level key; allowed: version, scenarios$"):
        parse_scenarios({"version": 1, "scenarios": {"x": {}}, 2: "a", "extra": "b"})


# --- keys: per-pattern key choice ----------------------------------------------------------


def test_keys_for_pattern_falls_back_to_default() -> None:
    keys = Keys()
    for pattern in PATTERNS:
        assert keys.for_pattern(pattern) == KeyChoice("uniform", 0.99, 0.01, 0.9)
    hot = KeyChoice(distribution="hotspot", hot_keys=0.05, hot_requests=0.8)
    zipf = KeyChoice(distribution="zipfian", zipf_s=1.2)
    keys = Keys(default=hot, get_conversation=zipf)
    assert keys.for_pattern("get_conversation") == zipf
    assert keys.for_pattern("query_by_candidate_status") == hot
    assert keys.for_pattern("update_status") == hot
    assert keys.for_pattern("append_message") == hot
    assert keys.for_pattern("batch_get_candidates") == hot
    assert keys.for_pattern("create_conversation") == hot  # has no entry of its own
    assert keys.for_pattern("log_events") == hot


def test_log_events_keys_parse() -> None:
    body = {"mix": {"log_events": 3},
            "keys": {"log_events": {"distribution": "latest"}, "log_events_batch_size": 25}}
    sc = parse_scenarios(doc_with(body))["x"]
    assert sc.mix.weights()["log_events"] == 3.0
    assert sc.keys.for_pattern("log_events") == KeyChoice("latest", 0.99, 0.01, 0.9)
    assert sc.keys.log_events_batch_size == 25
    assert Keys().log_events_batch_size == 5


def test_mix_and_keys_fields_follow_the_pattern_registry() -> None:
    # The scenario model builds a weight per pattern and a key choice per pattern that draws
    # existing keys from ddbbench.facts: a new pattern needs no edit here.
    assert [f.name for f in dataclasses.fields(Mix)] == list(PATTERNS)
    keyed = [f.name for f in dataclasses.fields(Keys) if f.name in PATTERNS]
    assert keyed == [p.name for p in PATTERN_FACTS if p.keys is not None]
    assert "create_conversation" not in keyed  # it draws no existing key
    assert Mix(get_conversation=1).weights() == {p.name: (1.0 if p.name == "get_conversation" else p.weight)
                                                 for p in PATTERN_FACTS}


def test_keys_section_parses() -> None:
    body = {"keys": {"default": {"distribution": "hotspot", "hot_keys": 0.1, "hot_requests": 0.5},
                     "update_status": {"distribution": "latest", "zipf_s": 1.5},
                     "batch_get_candidates": None,
                     "batch_get_size": 25}}
    sc = parse_scenarios(doc_with(body))["x"]
    assert sc.keys == Keys(default=KeyChoice("hotspot", 0.99, 0.1, 0.5),
                           update_status=KeyChoice("latest", 1.5, 0.01, 0.9),
                           batch_get_size=25)
    assert sc.keys.for_pattern("update_status") == KeyChoice("latest", 1.5, 0.01, 0.9)
    assert sc.keys.for_pattern("batch_get_candidates") == KeyChoice("hotspot", 0.99, 0.1, 0.5)
    assert type(sc.keys.update_status.zipf_s) is float  # type: ignore[union-attr]


@pytest.mark.parametrize("distribution", ["uniform", "zipfian", "hotspot", "latest"])
def test_every_key_distribution_is_accepted(distribution: str) -> None:
    sc = parse_scenarios(doc_with({"keys": {"get_conversation": {"distribution": distribution}}}))["x"]
    assert sc.keys.for_pattern("get_conversation").distribution == distribution


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"get_conversation": {"distribution": "zipf"}},
         "scenarios.x.keys.get_conversation.distribution: 'zipf' is not a key distribution in "
         f"{DISTRIBUTIONS}"),
        ({"default": {"distribution": "Uniform"}},
         f"scenarios.x.keys.default.distribution: 'Uniform' is not a key distribution in {DISTRIBUTIONS}"),
        ({"default": {"zipf_s": 0}}, "scenarios.x.keys.default.zipf_s: 0 is not a Zipf exponent > 0"),
        ({"update_status": {"zipf_s": -0.5}},
         "scenarios.x.keys.update_status.zipf_s: -0.5 is not a Zipf exponent > 0"),
        ({"default": {"hot_keys": 0}},
         "scenarios.x.keys.default.hot_keys: 0 is not a fraction of keys > 0 <= 1"),
        ({"append_message": {"hot_keys": 1.5}},
         "scenarios.x.keys.append_message.hot_keys: 1.5 is not a fraction of keys > 0 <= 1"),
        ({"default": {"hot_requests": 1.01}},
         "scenarios.x.keys.default.hot_requests: 1.01 is not a fraction of requests >= 0 <= 1"),
        ({"default": {"hot_requests": -0.1}},
         "scenarios.x.keys.default.hot_requests: -0.1 is not a fraction of requests >= 0 <= 1"),
        ({"batch_get_size": 0}, "scenarios.x.keys.batch_get_size: 0 is not a key count >= 1 <= 100"),
        ({"batch_get_size": 101}, "scenarios.x.keys.batch_get_size: 101 is not a key count >= 1 <= 100"),
        ({"batch_get_size": 2.5}, "scenarios.x.keys.batch_get_size: 2.5 is not an integer"),
        ({"log_events_batch_size": 0},
         "scenarios.x.keys.log_events_batch_size: 0 is not an event count >= 1 <= 25"),
        ({"log_events_batch_size": 26},
         "scenarios.x.keys.log_events_batch_size: 26 is not an event count >= 1 <= 25"),
        ({"log_events": {"distribution": "zipf"}},
         f"scenarios.x.keys.log_events.distribution: 'zipf' is not a key distribution in {DISTRIBUTIONS}"),
        ({"create_conversation": {}},
         f"scenarios.x.keys.create_conversation: unknown key; allowed keys: {KEYS_KEYS}"),
        ({"default": {"s": 1}},
         "scenarios.x.keys.default.s: unknown key; allowed keys: "
         "distribution, zipf_s, hot_keys, hot_requests"),
        ({"default": "zipfian"}, "scenarios.x.keys.default: expected a mapping, got a string 'zipfian'"),
    ],
)
def test_invalid_keys_messages(keys: Any, message: str) -> None:
    assert config_error(doc_with({"keys": keys})) == message


def test_key_choice_boundaries_are_valid() -> None:
    body = {"keys": {"default": {"hot_keys": 1, "hot_requests": 0},
                     "get_conversation": {"hot_requests": 1, "zipf_s": 0.01},
                     "batch_get_size": 100}}
    sc = parse_scenarios(doc_with(body))["x"]
    assert sc.keys.default == KeyChoice("uniform", 0.99, 1.0, 0.0)
    assert sc.keys.get_conversation == KeyChoice("uniform", 0.01, 0.01, 1.0)
    assert sc.keys.batch_get_size == 100


# --- load: models, stages and run time -----------------------------------------------------


def test_run_time_s_stages_duration_and_default() -> None:
    assert Load().run_time_s == 60.0
    assert Load(duration_s=25.0).run_time_s == 25.0
    assert Load(model="open", stages=(Stage(10.0, 5.0), Stage(2.5, 7.0))).run_time_s == 12.5
    # With stages the stages' total wins (validation makes duration_s equal to it).
    assert Load(model="open", duration_s=12.5, stages=(Stage(10.0, 5.0), Stage(2.5, 7.0))).run_time_s == 12.5


def test_arrival_stages_default_to_arrival_rate_for_the_run() -> None:
    assert Load(model="open").arrival_stages() == (Stage(60.0, 100.0),)
    assert Load(model="open", duration_s=20.0, arrival_rate=250.0).arrival_stages() == (Stage(20.0, 250.0),)
    stages = (Stage(3.0, 10.0), Stage(4.0, 0.0))
    assert Load(model="open", stages=stages).arrival_stages() == stages


def test_open_load_section_parses() -> None:
    body = {"load": {"model": "open", "arrival_rate": 500, "max_in_flight": 8, "processes": 4,
                     "stages": [{"duration_s": 10, "rate": 50}, {"duration_s": 20, "rate": 0}, {}]}}
    load = parse_scenarios(doc_with(body))["x"].load
    assert load == Load(model="open", arrival_rate=500.0, max_in_flight=8, processes=4,
                        stages=(Stage(10.0, 50.0), Stage(20.0, 0.0), Stage(30.0, 100.0)))
    assert type(load.stages) is tuple
    assert load.run_time_s == 60.0
    assert load.duration_s is None


def test_duration_equal_to_stages_total_is_valid() -> None:
    body = {"load": {"model": "open", "duration_s": 30,
                     "stages": [{"duration_s": 10, "rate": 5}, {"duration_s": 20, "rate": 6}]}}
    load = parse_scenarios(doc_with(body))["x"].load
    assert (load.duration_s, load.run_time_s) == (30.0, 30.0)


def test_empty_stages_list_uses_duration() -> None:
    load = parse_scenarios(doc_with({"load": {"stages": [], "duration_s": 15}}))["x"].load
    assert (load.model, load.stages, load.run_time_s) == ("closed", (), 15.0)


@pytest.mark.parametrize(
    ("load", "message"),
    [
        ({"stages": [{"duration_s": 10, "rate": 5}]},
         "scenarios.x.load.stages: stages are arrival rates of the open model; "
         "set scenarios.x.load.model: open (or remove stages)"),
        ({"model": "closed", "stages": [{"duration_s": 10, "rate": 5}]},
         "scenarios.x.load.stages: stages are arrival rates of the open model; "
         "set scenarios.x.load.model: open (or remove stages)"),
        ({"model": "open", "duration_s": 15,
          "stages": [{"duration_s": 10, "rate": 5}, {"duration_s": 10, "rate": 6}]},
         "scenarios.x.load.duration_s: 15 is not the stages' total (20); omit duration_s when giving stages"),
        ({"model": "open", "stages": [{"duration_s": 2, "rate": 5}, {"duration_s": 2.5, "rate": 6}]},
         "scenarios.x.load.warmup_s: 5 is not a duration < the run time (4.5); nothing would be measured"),
        ({"model": "open", "stages": [{"duration_s": 5, "rate": 1}, 7]},
         "scenarios.x.load.stages[1]: expected a mapping, got a number 7"),
        ({"model": "open", "stages": [{"duration_s": 5, "rate": 1}, {"duration_s": 5, "rate": -1}]},
         "scenarios.x.load.stages[1].rate: -1 is not requests per second >= 0"),
        ({"model": "open", "stages": [{"duration_s": 5, "rate": 1}, {"duration_s": 5, "rate": "fast"}]},
         "scenarios.x.load.stages[1].rate: 'fast' is not a number"),
        ({"model": "open", "stages": [{"duration_s": 0, "rate": 1}]},
         "scenarios.x.load.stages[0].duration_s: 0 is not a duration in seconds > 0"),
        ({"model": "open", "stages": [{"duration_s": 9, "rate": 1}, {"seconds": 9}]},
         "scenarios.x.load.stages[1].seconds: unknown key; allowed keys: duration_s, rate"),
        ({"model": "open", "stages": {"duration_s": 9, "rate": 1}},
         "scenarios.x.load.stages: expected a list, got dict {'duration_s': 9, 'rate': 1}"),
        ({"model": "poisson"}, "scenarios.x.load.model: 'poisson' is not a load model in closed, open"),
        ({"arrival_rate": 0}, "scenarios.x.load.arrival_rate: 0 is not requests per second > 0"),
        ({"max_in_flight": 0}, "scenarios.x.load.max_in_flight: 0 is not a request count >= 1"),
        ({"processes": 65}, "scenarios.x.load.processes: 65 is not a process count >= 1 <= 64"),
        ({"duration_s": 0}, "scenarios.x.load.duration_s: 0 is not a duration in seconds > 0"),
        ({"warmup_s": 60}, "scenarios.x.load.warmup_s: 60 is not a duration < the run time (60); "
                           "nothing would be measured"),
    ],
)
def test_invalid_load_messages(load: Any, message: str) -> None:
    assert config_error(doc_with({"load": load})) == message


def test_null_duration_means_default_run_time() -> None:
    load = parse_scenarios(doc_with({"load": {"duration_s": None}}))["x"].load
    assert (load.duration_s, load.run_time_s) == (None, 60.0)


# --- files ---------------------------------------------------------------------------------


def test_load_scenario_unknown_name_lists_available(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nscenarios:\n  smoke: {}\n  baseline: {}\n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path, "nope")
    assert str(info.value) == f"scenario 'nope' is not in {path}; available: smoke, baseline"


def test_load_scenario_unknown_name_in_shipped_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(SHIPPED, "smok")
    assert str(info.value) == (f"scenario 'smok' is not in {SHIPPED}; "
                               "available: smoke, smoke-open, baseline, designs, ci")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("version: 1\nscenarios:\n\tx: {}\n", 3),
        ("version: 1\nscenarios:\n  x:\n    load: {users: 3\n  y: {}\n", 5),
        ("version: 1\nscenarios:\n  x: {}\n  y: [\n", 5),
    ],
)
def test_invalid_yaml_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_scenarios(path)
    assert str(info.value) == f"{path}: not valid YAML at line {line}"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as info:
        load_scenarios(path)
    assert str(info.value) == f"{path}: cannot read scenarios file (No such file or directory)"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenarios(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot read scenarios file (Is a directory)"


def test_empty_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError) as info:
        load_scenarios(path)
    assert str(info.value) == f"{path}: expected a mapping with 'version' and 'scenarios'"


def test_file_errors_carry_the_field_path(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nscenarios:\n  fast:\n    load:\n      users: many\n")
    with pytest.raises(ConfigError) as info:
        load_scenarios(path)
    assert str(info.value) == "scenarios.fast.load.users: 'many' is not an integer"


def test_yaml_file_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nscenarios:\n  mine:\n    target: http://127.0.0.1:8000\n"
                           "    mix: {get_conversation: 1, query_by_candidate_status: 0,"
                           " update_status: 0, append_message: 0}\n")
    sc = load_scenario(path, "mine")
    assert sc.target == "http://127.0.0.1:8000"
    assert sc.mix == Mix(1.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_non_utf8_file_gives_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"version: 1\nscenarios:\n  x:\n    description: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r": not UTF-8 text \(byte 44\)$"):
        load_scenarios(path)


# --- typed.build on its own ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Optional:
    count: int | None = None
    label: str = "x"


@dataclasses.dataclass(frozen=True)
class _Unsupported:
    items: list = dataclasses.field(default_factory=list)  # type: ignore[type-arg]


def test_build_optional_field_accepts_none_and_value() -> None:
    assert build(_Optional, {"count": None}, "o") == _Optional(None, "x")
    assert build(_Optional, {"count": 3, "label": "y"}, "o") == _Optional(3, "y")
    with pytest.raises(ConfigError, match=r"^o\.count: 'three' is not an integer$"):
        build(_Optional, {"count": "three"}, "o")


def test_build_unsupported_field_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unsupported field type"):
        build(_Unsupported, {"items": [1]}, "u")


def test_build_non_mapping_of_unknown_kind() -> None:
    with pytest.raises(ConfigError) as info:
        build(Slo, True, "s")
    assert str(info.value) == "s: expected a mapping, got bool True"


def test_rule_describe() -> None:
    assert Rule().describe() == "a value"
    assert Rule(what="a ratio", gt=0, le=1.5).describe() == "a ratio > 0 <= 1.5"
    assert Rule(what="a mode", choices=("a", "b")).describe() == "a mode in a, b"
    Rule(what="a count", ge=0).check(0, "p")  # boundary is allowed
    with pytest.raises(ConfigError, match=r"^p: 0 is not a count > 0$"):
        Rule(what="a count", gt=0).check(0, "p")


# --- the CLI -------------------------------------------------------------------------------


def run_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ddbbench.cli", "scenarios", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_cli_validate_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nscenarios:\n  baseline:\n    mix:\n      get_conversation: -1\n")
    proc = run_validate(path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ddbbench: error: ")
    assert "scenarios.baseline.mix.get_conversation" in lines[0]
    assert lines[0] == "ddbbench: error: scenarios.baseline.mix.get_conversation: -1 is not a weight >= 0"
    assert proc.stdout == ""


def test_cli_validate_missing_file_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "nothing.yaml"
    proc = run_validate(path)
    assert proc.returncode == 2
    assert proc.stderr == f"ddbbench: error: {path}: cannot read scenarios file (No such file or directory)\n"


def test_cli_validate_refuses_a_design_that_cannot_answer_the_scenario(tmp_path: Path) -> None:
    # Read alone the file is valid (layer 0 knows no designs); validate checks it with them.
    text = "version: 1\nscenarios:\n  t:\n    design: sparse-active-index\n" \
           "    keys: {query_statuses: [ONGOING, COMPLETED]}\n"
    path = write(tmp_path, text)
    assert load_scenarios(path)["t"].design == "sparse-active-index"
    proc = run_validate(path)
    assert proc.returncode == 2
    assert proc.stderr == ("ddbbench: error: scenarios.t.keys.query_statuses: COMPLETED cannot be "
                           "queried on design sparse-active-index (its index holds CREATED, ONGOING "
                           "only); remove it from query_statuses or choose another design\n")


def test_cli_validate_shipped_file_ok() -> None:
    proc = run_validate(SHIPPED)
    assert proc.returncode == 0
    assert proc.stderr == f"{SHIPPED}: 5 valid scenario(s): smoke, smoke-open, baseline, designs, ci\n"


def test_stage_total_compared_with_float_tolerance() -> None:
    doc = doc_with({"load": {"model": "open", "duration_s": 0.3, "warmup_s": 0.1,
                             "stages": [{"duration_s": 0.1, "rate": 1}, {"duration_s": 0.2, "rate": 1}]}})
    assert parse_scenarios(doc)["x"].load.run_time_s == pytest.approx(0.3)


# --- SLO objectives per pattern and percentile ----------------------------------------------

ALL_PATTERNS = ", ".join(PATTERNS)


def test_slo_objectives_parse_and_round_trip() -> None:
    slo = {"percentile": 99, "threshold_ms": 10, "objectives": [
        {"pattern": "get_conversation", "percentile": 99.9, "threshold_ms": 5},
        {"pattern": "get_conversation", "percentile": 99, "threshold_ms": 4},
        {"pattern": "query_by_candidate_status", "percentile": 99, "threshold_ms": 20}]}
    sc = parse_scenarios(doc_with({"slo": slo}))["x"]
    assert sc.slo.objectives == (Objective("get_conversation", 99.9, 5.0),
                                 Objective("get_conversation", 99.0, 4.0),
                                 Objective("query_by_candidate_status", 99.0, 20.0))
    body = sc.to_dict()
    del body["name"]
    assert parse_scenarios(doc_with(body))["x"] == sc
    assert Slo().objectives == ()  # the existing form stays valid: the default for every pattern


@pytest.mark.parametrize("objectives, message", [
    ([{"pattern": "get_convo", "percentile": 99, "threshold_ms": 5}],
     f"scenarios.x.slo.objectives[0].pattern: 'get_convo' is not an access pattern in {ALL_PATTERNS}"),
    ([{"percentile": 99, "threshold_ms": 5}],
     f"scenarios.x.slo.objectives[0].pattern: missing; name one of {ALL_PATTERNS}"),
    ([{"pattern": "update_status", "threshold_ms": 5}],
     "scenarios.x.slo.objectives[0].percentile: missing; give a percentile > 0 <= 100"),
    ([{"pattern": "update_status", "percentile": 99}],
     "scenarios.x.slo.objectives[0].threshold_ms: missing; give a latency in ms > 0"),
    ([{"pattern": "update_status", "percentile": 0, "threshold_ms": 5}],
     "scenarios.x.slo.objectives[0].percentile: 0 is not a percentile > 0 <= 100"),
    ([{"pattern": "update_status", "percentile": 99, "threshold_ms": "5ms"}],
     "scenarios.x.slo.objectives[0].threshold_ms: '5ms' is not a number"),
    ([{"pattern": "update_status", "percentile": 99, "threshold_ms": 5, "max": 9}],
     "scenarios.x.slo.objectives[0].max: unknown key; allowed keys: pattern, percentile, threshold_ms, "
     "error_budget"),
    ([{"pattern": "update_status", "percentile": 99, "threshold_ms": 5},
      {"pattern": "update_status", "percentile": 99.0, "threshold_ms": 8}],
     "scenarios.x.slo.objectives[1]: a second objective for update_status p99; "
     "allowed: one per pattern and percentile"),
    ([{"pattern": "create_conversation", "percentile": 99, "threshold_ms": 5}],
     "scenarios.x.slo.objectives[0].pattern: 'create_conversation' has weight 0 in the mix; "
     "allowed: a pattern with a weight > 0"),
    ({"get_conversation": {"percentile": 99, "threshold_ms": 5}},
     "scenarios.x.slo.objectives: expected a list, got dict {'get_conversation': "
     "{'percentile': 99, 'threshold_ms': 5}}"),
])
def test_invalid_slo_objectives(objectives: Any, message: str) -> None:
    assert config_error(doc_with({"slo": {"objectives": objectives}})) == message


def test_the_scenario_model_imports_no_upper_layer() -> None:
    # Layer 0: reading scenarios must not load the designs (that import closed a cycle
    # scenario -> designs -> datagen.model -> datagen.keyspace -> scenario).
    code = ("import sys, ddbbench.scenario, ddbbench.facts; "
            "print(sorted(m for m in sys.modules if m.startswith(('ddbbench.', 'datagen', 'analysis'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=ROOT)
    loaded = ("['ddbbench.errors', 'ddbbench.facts', 'ddbbench.objectives', 'ddbbench.scenario', "
              "'ddbbench.table_settings', "
              "'ddbbench.typed']")
    assert proc.stdout.strip() == loaded


@pytest.mark.parametrize("name", ["baseline", "designs"])
def test_shipped_verdict_scenarios_give_every_pattern_enough_requests(name: str) -> None:
    """rate x share x measured seconds reaches what each objective's percentile needs
    (ddbbench.objectives.judgeable), with a 10% margin for late starts; and 10 intervals for a
    confidence interval."""
    from ddbbench.objectives import required_requests

    sc = load_scenario(str(SHIPPED), name)
    load = sc.load
    assert load.model == "closed"
    measured_s = load.run_time_s - load.warmup_s
    assert measured_s / sc.measurement.interval_s >= 10
    weights = {p: w for p, w in sc.mix.weights().items() if w > 0}
    for pattern, weight in weights.items():
        expected = load.users * load.rate_per_user * weight / sum(weights.values()) * measured_s
        for o in sc.slo.objectives_for(pattern):
            assert expected >= 1.1 * required_requests(o.percentile), (pattern, expected, o)
