"""Key designs as plug-ins: one module each, registered here by name.

Adding a design: write ``ddbbench/designs/<name>.py`` with a ``Design`` subclass, add it to
``DESIGNS`` below, and add it to the equivalence test's list (docs/designs.md has a worked
example).
"""

from __future__ import annotations

from typing import Any

from ddbbench import scenario as scenario_model
from ddbbench.designs.base import Call, Design, Item, TableItem, message_av, run_chain
from ddbbench.designs.gsi_status_updated import GsiStatusUpdatedDesign
from ddbbench.designs.messages_as_items import MessagesAsItemsDesign
from ddbbench.designs.seed import SeedDesign
from ddbbench.designs.single_table import SingleTableDesign
from ddbbench.designs.sparse_active_index import SparseActiveIndexDesign
from ddbbench.errors import ConfigError
from ddbbench.scenario import DESIGN_NAMES, Scenario, Tables
from ddbbench.table_settings import apply_settings

DESIGNS: dict[str, type[Design]] = {d.name: d for d in (
    SeedDesign, GsiStatusUpdatedDesign, SingleTableDesign, MessagesAsItemsDesign,
    SparseActiveIndexDesign)}
assert tuple(DESIGNS) == DESIGN_NAMES, "register a new design in scenario.DESIGN_NAMES too"


def design_class(name: str, where: str = "design") -> type[Design]:
    try:
        return DESIGNS[name]
    except KeyError:
        raise ConfigError(f"{where}: {name!r} is not a key design; "
                          f"known: {', '.join(DESIGNS)}") from None


def make_design(name: str, tables: Tables, where: str = "design") -> Design:
    return design_class(name, where)(tables)


def check_scenario_design(sc: Scenario, path: str | None = None) -> None:
    """Refuse a scenario its key design cannot answer (every query it asks must be answerable).

    Called where a scenario is resolved (the command line, compare-designs) and before any
    request is built (``ddbbench.patterns.RequestFactory.for_scenario``); ``path`` names the
    scenario in messages (default ``scenarios.<name>``)."""
    path = path or f"scenarios.{sc.name}"
    design = design_class(sc.design, f"{path}.design")
    missing = [st for st in sc.keys.query_statuses if st not in design.query_statuses]
    if missing and sc.mix.weights()["query_by_candidate_status"] > 0:
        raise ConfigError(f"{path}.keys.query_statuses: {', '.join(missing)} cannot be queried on "
                          f"design {sc.design} (its index holds {', '.join(design.query_statuses)} "
                          "only); remove it from query_statuses or choose another design")


def table_specs_for(sc: Scenario, on_local: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """CreateTable arguments of the scenario's design with its ``table_settings`` (by role),
    and notes on settings not applied (a role sharing a table; what DynamoDB Local ignores)."""
    design = make_design(sc.design, sc.tables)
    return apply_settings(design.table_specs(), design.roles(), sc.table_settings, on_local)


def with_design(sc: Scenario, design: str, where: str = "--design") -> Scenario:
    """The scenario on another key design, checked as if it had been written in the file."""
    changed = scenario_model.with_design(sc, design, where)
    check_scenario_design(changed, f"scenarios.{sc.name} (with {where} {design})")
    return changed


__all__ = ["DESIGNS", "Call", "Design", "Item", "SeedDesign", "TableItem", "check_scenario_design",
           "design_class", "make_design", "message_av", "run_chain", "table_specs_for", "with_design"]
