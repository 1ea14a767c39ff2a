"""The scenario's loader settings: defaults, validation, and their way into a load."""

from __future__ import annotations

from typing import Any

import pytest

from ddbbench.errors import ConfigError
from ddbbench.scenario import Loader, parse_scenarios


def scenario_with(loader: Any) -> Any:
    return parse_scenarios({"version": 1, "scenarios": {"x": {"loader": loader}}})["x"]


def test_defaults_mean_unlimited() -> None:
    assert scenario_with({}).loader == Loader(workers=4, chunk_size=1000, max_items_per_s=0.0,
                                              max_wcu_per_s=0.0)


def test_settings_are_read() -> None:
    loader = scenario_with({"workers": 2, "chunk_size": 50, "max_items_per_s": 800,
                            "max_wcu_per_s": 1200.5}).loader
    assert loader == Loader(2, 50, 800.0, 1200.5)


@pytest.mark.parametrize(("body", "message"), [
    ({"chunk_size": 0}, "scenarios.x.loader.chunk_size: 0 is not an entity count >= 1 <= 1000000"),
    ({"chunk_size": 2.5}, "scenarios.x.loader.chunk_size: 2.5 is not an integer"),
    ({"max_items_per_s": -1},
     "scenarios.x.loader.max_items_per_s: -1 is not a rate in items per second >= 0"),
    ({"max_wcu_per_s": ".nan"}, "scenarios.x.loader.max_wcu_per_s: '.nan' is not a number"),
    ({"max_wcu_per_s": float("inf")}, "scenarios.x.loader.max_wcu_per_s: inf is not a finite number"),
    ({"max_items_per_s": True}, "scenarios.x.loader.max_items_per_s: True is not a number"),
    ({"rate": 5}, "scenarios.x.loader.rate: unknown key; allowed keys: workers, chunk_size, "
                  "max_items_per_s, max_wcu_per_s"),
])
def test_nonsense_is_refused_naming_the_value(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        scenario_with(body)
    assert str(info.value) == message


def test_command_line_caps_override_the_scenarios() -> None:
    from ddbbench import cli

    args = cli.build_parser().parse_args(["load", "-s", "smoke", "--max-wcu-per-s", "250"])
    sc = cli._with_loader_flags(cli._scenario_from(args), args)
    assert (sc.loader.max_wcu_per_s, sc.loader.max_items_per_s) == (250.0, 0.0)
    assert not args.resume
    plain = cli.build_parser().parse_args(["load", "-s", "smoke", "--resume"])
    assert cli._with_loader_flags(cli._scenario_from(plain), plain).loader == Loader() and plain.resume
