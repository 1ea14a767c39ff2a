"""The client-overhead calibration measures the run's client kind and says which it measured."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import ddbbench.calibrate
from analysis.summary_text import _calibration_lines
from ddbbench.calibrate import calibrate
from ddbbench.lean import LeanClient
from ddbbench.scenario import Client, Scenario


@pytest.mark.parametrize("kind", ["boto3", "lean"])
def test_calibration_measures_with_the_configured_kind_and_names_it(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []
    real = ddbbench.calibrate.make_client

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ddbbench.calibrate, "make_client", spy)
    sc = dataclasses.replace(Scenario(name="cal"), client=Client(kind=kind))
    result = calibrate(sc, 10)
    assert result["client"] == kind and result["requests"] == 10
    assert len(made) == 1 and isinstance(made[0], LeanClient) == (kind == "lean")
    assert calibrate(sc, 0) == {"requests": 0, "client": kind}


def test_the_summary_text_names_the_calibrated_kind() -> None:
    cal = {"requests": 300, "client": "lean", "operation": "GetItem", "p50_ms": 0.1, "p99_ms": 0.2,
           "client_cpu_ms_per_request": 0.12}
    assert "calibration of the lean client, GetItem x 300" in _calibration_lines({"calibration": cal})[0]
    older = {k: v for k, v in cal.items() if k != "client"}  # recorded before the kind was
    assert "calibration of the boto3 client" in _calibration_lines({"calibration": older})[0]
