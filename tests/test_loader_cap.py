"""The request-unit cap on a load: counted from ConsumedCapacity (index writes included),
a clean early end, the partial load marked (#12 item 4)."""

from __future__ import annotations

from typing import Any

import pytest

from datagen.chunks import dataset_items
from datagen.itemsize import item_size
from datagen.loader import load_dataset, summary_line, write_batch
from ddbbench.budget import UnitBudget
from ddbbench.designs import SeedDesign
from ddbbench.designs.base import index_entry
from ddbbench.preview import write_units
from ddbbench.scenario import Dataset, Range, Tables

SMALL = Dataset(seed=5, candidates=20, conversations=80, jobs=5, messages=Range(1, 4))


class CountingClient:
    """Answers BatchWriteItem with 2 units per item (as if each item had one index entry)."""

    def __init__(self) -> None:
        self.kwargs: list[dict[str, Any]] = []

    def batch_write_item(self, **kwargs: Any) -> dict[str, Any]:
        self.kwargs.append(kwargs)
        return {"UnprocessedItems": {}, "ConsumedCapacity": [
            {"TableName": t, "CapacityUnits": 2.0 * len(reqs)} for t, reqs in kwargs["RequestItems"].items()]}


def test_write_batch_asks_for_and_counts_consumed_capacity() -> None:
    client, budget = CountingClient(), UnitBudget(100)
    write_batch(client, [("A", {"k": {"S": "1"}}), ("A", {"k": {"S": "2"}}), ("B", {"k": {"S": "3"}})],
                budget=budget)
    assert client.kwargs[0]["ReturnConsumedCapacity"] == "INDEXES"
    assert budget.used == 6.0
    write_batch(client, [("A", {"k": {"S": "1"}})])  # no budget: nothing asked
    assert "ReturnConsumedCapacity" not in client.kwargs[1]


@pytest.mark.integration
def test_a_load_stops_cleanly_at_the_cap_on_dynamodb_local(ddb_client: Any) -> None:
    design = SeedDesign(Tables(conversations="CapConv", status_index="cap-idx", candidates="CapCand",
                               events="CapEv"))
    full = load_dataset(ddb_client, design, SMALL, workers=1, chunk_size=10, recreate=True,
                        budget=UnitBudget(1e9))
    # DynamoDB Local's units are the sizing rules': 1 KB blocks per item and per index entry.
    specs = {s["TableName"]: s for s in design.table_specs()}
    expected = 0
    for (table, item), _ in dataset_items(SMALL, design):
        expected += write_units(item_size(item))
        for gsi in specs[table].get("GlobalSecondaryIndexes", []):
            entry = index_entry(item, specs[table], gsi)
            expected += write_units(item_size(entry)) if entry is not None else 0
    assert full.budget is not None and full.budget.used == expected
    assert not full.stopped_by_cap and full.verified == full.tables

    capped = load_dataset(ddb_client, design, SMALL, workers=1, chunk_size=10, recreate=True,
                          budget=UnitBudget(expected / 4))
    assert capped.stopped_by_cap and capped.verified == {}
    assert capped.budget is not None and expected / 4 <= capped.budget.used < expected / 2
    assert 0 < capped.items_written < full.items_written
    assert capped.to_dict()["stopped_by_cap"] is True
    assert "STOPPED by --max-request-units" in summary_line(capped)
