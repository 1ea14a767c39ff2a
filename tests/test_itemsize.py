"""Item sizes against hand-computed values and against DynamoDB Local's own accounting."""

from __future__ import annotations

import math
from typing import Any

import pytest

from datagen.itemsize import MAX_ITEM_BYTES, item_size, value_size
from datagen.model import Generator
from ddbbench.designs import SeedDesign
from ddbbench.scenario import Dataset, Range, Tables


@pytest.mark.parametrize(("value", "size"), [
    ({"S": "abc"}, 3),
    ({"S": "é"}, 2),  # UTF-8 bytes, not characters
    ({"N": "123"}, 3),
    ({"N": "-7"}, 3),
    ({"B": "AAEC"}, 3),  # base64 of 3 bytes
    ({"BOOL": True}, 1),
    ({"NULL": True}, 1),
    ({"L": [{"S": "ab"}, {"BOOL": False}]}, 3 + (1 + 2) + (1 + 1)),
    ({"M": {"k": {"S": "v"}, "kk": {"N": "1"}}}, 3 + (1 + 1 + 1) + (1 + 2 + 2)),
    ({"SS": ["a", "bc"]}, 3),
])
def test_value_sizes_by_hand(value: dict[str, Any], size: int) -> None:
    assert value_size(value) == size


def test_a_seed_conversation_item_by_hand() -> None:
    item = {"conversationId": {"S": "c1"}, "status": {"S": "ONGOING"},
            "messages": {"L": [{"M": {"sender": {"S": "system"}, "content": {"S": "hi"}}}]}}
    # names 14 + 6 + 8; values 2 + 7 + (3 + 1 + (3 + (1 + 6 + 6) + (1 + 7 + 2)))
    assert item_size(item) == 28 + 9 + 30


@pytest.mark.integration
@pytest.mark.parametrize("target", [1024, 1025, 4096])
def test_write_units_from_dynamodb_local_match_the_size(ddb_client: Any, target: int) -> None:
    """An item of exactly ``target`` bytes costs ceil(target / 1 KB) write units on Local."""
    table = "SizeCheck"
    if table not in ddb_client.list_tables()["TableNames"]:
        ddb_client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    item = {"id": {"S": f"k{target}"}, "pad": {"S": ""}}
    item["pad"]["S"] = "x" * (target - item_size(item))
    assert item_size(item) == target
    resp = ddb_client.put_item(TableName=table, Item=item, ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == math.ceil(target / 1024)


def test_generated_items_stay_far_below_the_limit() -> None:
    gen = Generator(Dataset(seed=3, conversations=50, messages=Range(40, 40)))
    design = SeedDesign(Tables())
    sizes = [item_size(design.conversation_item(gen.conversation(i))) for i in range(50)]
    assert max(sizes) < MAX_ITEM_BYTES
    assert min(sizes) > 40 * 20  # 40 messages of at least ~20 bytes each


def test_an_oversize_dataset_is_refused_before_any_write() -> None:
    from datagen.loader import check_item_limit, load_dataset
    from ddbbench.errors import ConfigError

    huge = Dataset(seed=3, conversations=10, messages=Range(2, 5000))

    class NoWrites:  # any call at all would be a write attempt (or table creation)
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"{name} called: the load should have been refused first")

    with pytest.raises(ConfigError, match=r"^dataset\.messages\.max: 5000 messages can make a "
                                          r"conversation item of [\d,]+ KB, over DynamoDB's 400 KB"):
        load_dataset(NoWrites(), SeedDesign(Tables()), huge)
    # The bound really bounds: no generated conversation is larger.
    small = Dataset(seed=3, conversations=200, messages=Range(1, 30))
    bound = check_item_limit(small, SeedDesign(Tables()))
    gen = Generator(small)
    assert max(item_size(SeedDesign(Tables()).conversation_item(gen.conversation(i)))
               for i in range(200)) <= bound
