"""The short examples on the public surface hold (each module listed has at least one)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ddbbench.resolved", "ddbbench.client", "ddbbench.stub.server", "ddbbench.arrivals",
           "ddbbench.scenario", "ddbbench.deltas", "ddbbench.preview", "ddbbench.budget",
           "ddbbench.table_settings", "ddbbench.iam", "ddbbench.ownership", "ddbbench.schemacheck",
           "analysis.compare", "ddbbench.cli_parser", "ddbbench.distributed", "ddbbench.objectives",
           "analysis.slo", "analysis.summary", "analysis.plain",
           "analysis.comparison", "analysis.knee_steps", "analysis.knee",
           "analysis.plan_results"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
