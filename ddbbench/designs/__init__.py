"""Key designs as plug-ins: one module each, registered here by name.

Adding a design: write ``ddbbench/designs/<name>.py`` with a ``Design`` subclass, add it to
``DESIGNS`` below, and add it to the equivalence test's list (docs/designs.md has a worked
example).
"""

from __future__ import annotations

from ddbbench.designs.base import Call, Design, Item, TableItem, message_av, run_chain
from ddbbench.designs.gsi_status_updated import GsiStatusUpdatedDesign
from ddbbench.designs.messages_as_items import MessagesAsItemsDesign
from ddbbench.designs.seed import SeedDesign
from ddbbench.designs.single_table import SingleTableDesign
from ddbbench.designs.sparse_active_index import SparseActiveIndexDesign
from ddbbench.errors import ConfigError
from ddbbench.scenario import DESIGN_NAMES, Tables

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


__all__ = ["DESIGNS", "Call", "Design", "Item", "SeedDesign", "TableItem", "design_class",
           "make_design", "message_av", "run_chain"]
