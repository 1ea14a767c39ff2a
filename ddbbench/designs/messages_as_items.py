"""``messages-as-items``: a conversation is a header item plus one item per message.

Table key (conversationId, sk): the header has ``sk = "#HEADER"`` (sorts before every
message), each message ``sk = "MSG#<timestamp>#<suffix>"``. Appending is a small header
update plus a small PutItem, whatever the conversation's length, so write cost does not grow
with the conversation and no item nears the 400 KB limit; getting a conversation becomes a
Query over its partition. Only headers carry candidateId and status, so the GSI on them
indexes headers alone.
"""

from __future__ import annotations

import os
from typing import Any

from datagen.model import Conversation, Message
from ddbbench.designs.base import (
    CC,
    Call,
    Item,
    Response,
    TableItem,
    chained,
    items_of,
    message_of,
    paginated,
    s,
    text,
)
from ddbbench.designs.seed import SeedDesign

HEADER = "#HEADER"


def message_item(conversation_id: str, m: Message, suffix: str) -> Item:
    return {"conversationId": s(conversation_id), "sk": s(f"MSG#{m.timestamp}#{suffix}"),
            "sender": s(m.sender), "timestamp": s(m.timestamp), "content": s(m.content)}


class MessagesAsItemsDesign(SeedDesign):
    name = "messages-as-items"
    summary = "header item + one item per message under the conversation's key; get is a Query"

    def table_specs(self) -> list[dict[str, Any]]:
        spec = super().table_specs()
        conversations = spec[0]
        conversations["KeySchema"] = [{"AttributeName": "conversationId", "KeyType": "HASH"},
                                      {"AttributeName": "sk", "KeyType": "RANGE"}]
        conversations["AttributeDefinitions"].append({"AttributeName": "sk", "AttributeType": "S"})
        return spec

    def header_item(self, c: Conversation) -> Item:
        return {"conversationId": s(c.conversationId), "sk": s(HEADER),
                "candidateId": s(c.candidateId), "jobId": s(c.jobId), "status": s(c.status),
                "lastUpdated": s(c.lastUpdated)}

    def conversation_items(self, c: Conversation) -> list[TableItem]:
        t = self.tables.conversations
        # A loaded message's suffix is its position: unique, and the same for a seed.
        return [(t, self.header_item(c))] + [
            (t, message_item(c.conversationId, m, f"{n:05d}")) for n, m in enumerate(c.messages)]

    def _header_key(self, conversation_id: str) -> dict[str, Any]:
        return {"conversationId": s(conversation_id), "sk": s(HEADER)}

    def get_conversation(self, conversation_id: str) -> Call:
        return paginated(Call("query", {
            "TableName": self.tables.conversations,
            "KeyConditionExpression": "conversationId = :id",
            "ExpressionAttributeValues": {":id": s(conversation_id)},
            "ReturnConsumedCapacity": CC,
        }))

    def update_status(self, conversation_id: str, status: str, now: str) -> Call:
        return Call("update_item", {
            "TableName": self.tables.conversations,
            "Key": self._header_key(conversation_id),
            "UpdateExpression": "SET #s = :s, lastUpdated = :t",
            "ConditionExpression": "attribute_exists(conversationId)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": s(status), ":t": s(now)},
            "ReturnConsumedCapacity": CC,
        })

    def append_message(self, conversation_id: str, message: Message) -> Call:
        # The header first: its condition refuses a conversation that does not exist before
        # any message item is written. A random suffix keeps two messages of the same
        # millisecond apart.
        return chained(
            Call("update_item", {
                "TableName": self.tables.conversations,
                "Key": self._header_key(conversation_id),
                "UpdateExpression": "SET lastUpdated = :t",
                "ConditionExpression": "attribute_exists(conversationId)",
                "ExpressionAttributeValues": {":t": s(message.timestamp)},
                "ReturnConsumedCapacity": CC,
            }),
            self._put_message(conversation_id, message, os.urandom(4).hex()))

    def _put_message(self, conversation_id: str, message: Message, suffix: str) -> Call:
        return Call("put_item", {
            "TableName": self.tables.conversations,
            "Item": message_item(conversation_id, message, suffix),
            "ConditionExpression": "attribute_not_exists(sk)",
            "ReturnConsumedCapacity": CC,
        })

    def read_conversation(self, responses: list[Response]) -> Conversation | None:
        items = items_of(responses)
        if not items or text(items[0], "sk") != HEADER:
            return None
        h = items[0]
        messages = tuple(message_of({"M": it}) for it in items[1:])
        return Conversation(text(h, "conversationId"), text(h, "candidateId"), text(h, "jobId"),
                            text(h, "status"), text(h, "lastUpdated"), messages)
