"""``seed``: the seed document's design.

``conversationId`` partition key; GSI ``candidateId-status-index`` on (candidateId, status)
projecting ALL; messages as a list inside the conversation item (so every append rewrites,
and is charged for, the whole growing item); candidate profiles and events in their own
tables.
"""

from __future__ import annotations

from typing import Any

from datagen.model import Candidate, Conversation, Message
from ddbbench.designs.base import (
    CC,
    Call,
    Design,
    Item,
    TableItem,
    message_av,
    paginated,
    s,
)


class SeedDesign(Design):
    name = "seed"
    summary = "conversationId key; GSI (candidateId, status) projecting ALL; messages as a list"

    # --- schema ----------------------------------------------------------------------------
    def table_specs(self) -> list[dict[str, Any]]:
        conversations = {
            "TableName": self.tables.conversations,
            "KeySchema": [{"AttributeName": "conversationId", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "conversationId", "AttributeType": "S"},
                *({"AttributeName": a, "AttributeType": "S"} for a in self.index_key()),
            ],
            "GlobalSecondaryIndexes": [{
                "IndexName": self.index_name(),
                "KeySchema": [{"AttributeName": self.index_key()[0], "KeyType": "HASH"},
                              {"AttributeName": self.index_key()[1], "KeyType": "RANGE"}],
                "Projection": self.index_projection(),
            }],
            "BillingMode": "PAY_PER_REQUEST",
        }
        return [conversations, self.candidate_table_spec(), self.event_table_spec()]

    # The index, overridable by the designs that vary only it.
    def index_name(self) -> str:
        return self.tables.status_index

    def index_key(self) -> tuple[str, str]:
        return ("candidateId", "status")

    def index_projection(self) -> dict[str, Any]:
        return {"ProjectionType": "ALL"}

    def index_attributes(self, status: str, changed_at: str) -> Item:
        """Attributes a conversation carries for the index, beyond the seed's own."""
        return {}

    # --- entities to items -----------------------------------------------------------------
    def conversation_item(self, c: Conversation) -> Item:
        return {
            "conversationId": s(c.conversationId),
            "candidateId": s(c.candidateId),
            "jobId": s(c.jobId),
            "status": s(c.status),
            "lastUpdated": s(c.lastUpdated),
            "messages": {"L": [message_av(m) for m in c.messages]},
            **self.index_attributes(c.status, c.lastUpdated),
        }

    def conversation_items(self, c: Conversation) -> list[TableItem]:
        return [(self.tables.conversations, self.conversation_item(c))]

    def candidate_items(self, c: Candidate) -> list[TableItem]:
        return [(self.tables.candidates, {
            "candidateId": s(c.candidateId),
            "phoneNumber": s(c.phoneNumber),
            "firstName": s(c.firstName),
            "lastName": s(c.lastName),
            "emailAddress": s(c.emailAddress),
        })]

    # --- logical access patterns to calls -----------------------------------------------
    def get_conversation(self, conversation_id: str) -> Call:
        return Call("get_item", {
            "TableName": self.tables.conversations,
            "Key": {"conversationId": s(conversation_id)},
            "ReturnConsumedCapacity": CC,
        })

    def query_by_candidate_status(self, candidate_id: str, status: str) -> Call:
        return paginated(Call("query", {
            "TableName": self.tables.conversations,
            "IndexName": self.index_name(),
            "KeyConditionExpression": "candidateId = :c AND #s = :s",
            "ExpressionAttributeNames": {"#s": self.index_key()[1]},  # status is a reserved word
            "ExpressionAttributeValues": {":c": s(candidate_id), ":s": s(status)},
            "ReturnConsumedCapacity": CC,
        }))

    def update_status(self, conversation_id: str, status: str, now: str) -> Call:
        extra = self.index_attributes(status, now)
        sets = "".join(f", {name} = :{name}" for name in extra)
        return Call("update_item", {
            "TableName": self.tables.conversations,
            "Key": {"conversationId": s(conversation_id)},
            "UpdateExpression": f"SET #s = :s, lastUpdated = :t{sets}" + self.status_removal(status),
            # Only update conversations that exist: an update must never create a stub item.
            "ConditionExpression": "attribute_exists(conversationId)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": s(status), ":t": s(now),
                                          **{f":{name}": v for name, v in extra.items()}},
            "ReturnConsumedCapacity": CC,
        })

    def status_removal(self, status: str) -> str:
        """An UpdateExpression REMOVE clause for a status change (the sparse design's)."""
        return ""

    def append_message(self, conversation_id: str, message: Message) -> Call:
        return Call("update_item", {
            "TableName": self.tables.conversations,
            "Key": {"conversationId": s(conversation_id)},
            "UpdateExpression": "SET messages = list_append(messages, :m), lastUpdated = :t",
            "ConditionExpression": "attribute_exists(conversationId)",
            "ExpressionAttributeValues": {":m": {"L": [message_av(message)]},
                                          ":t": s(message.timestamp)},
            "ReturnConsumedCapacity": CC,
        })
