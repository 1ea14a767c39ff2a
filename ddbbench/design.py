"""Key designs: how logical entities and access patterns map to DynamoDB tables and calls.

Replay, loading and analysis speak only of logical patterns; a design turns each into a
``Call``. This module ships the seed document's design; further designs implement the same
methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datagen.model import Candidate, Conversation, Message
from ddbbench.scenario import Tables

Item = dict[str, dict[str, Any]]  # DynamoDB JSON, e.g. {"status": {"S": "ONGOING"}}


@dataclass(frozen=True)
class Call:
    """One DynamoDB request: the low-level client method and its keyword arguments."""

    operation: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def message_av(m: Message) -> dict[str, Any]:
    return {"M": {"sender": {"S": m.sender}, "timestamp": {"S": m.timestamp},
                  "content": {"S": m.content}}}


class SeedDesign:
    """The seed document's design: ``conversationId`` partition key, GSI on
    (candidateId, status) projecting ALL, messages as a list inside the conversation item."""

    name = "seed"

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def table_specs(self) -> list[dict[str, Any]]:
        """CreateTable arguments for every table of the design (on-demand billing)."""
        t = self.tables
        conversations = {
            "TableName": t.conversations,
            "KeySchema": [{"AttributeName": "conversationId", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "conversationId", "AttributeType": "S"},
                {"AttributeName": "candidateId", "AttributeType": "S"},
                {"AttributeName": "status", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [{
                "IndexName": t.status_index,
                "KeySchema": [{"AttributeName": "candidateId", "KeyType": "HASH"},
                              {"AttributeName": "status", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            "BillingMode": "PAY_PER_REQUEST",
        }
        candidates = {
            "TableName": t.candidates,
            "KeySchema": [{"AttributeName": "candidateId", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "candidateId", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
        return [conversations, candidates]

    # --- entities to items ---------------------------------------------------------------
    def conversation_item(self, c: Conversation) -> tuple[str, Item]:
        return self.tables.conversations, {
            "conversationId": {"S": c.conversationId},
            "candidateId": {"S": c.candidateId},
            "jobId": {"S": c.jobId},
            "status": {"S": c.status},
            "lastUpdated": {"S": c.lastUpdated},
            "messages": {"L": [message_av(m) for m in c.messages]},
        }

    def candidate_item(self, c: Candidate) -> tuple[str, Item]:
        return self.tables.candidates, {
            "candidateId": {"S": c.candidateId},
            "phoneNumber": {"S": c.phoneNumber},
            "firstName": {"S": c.firstName},
            "lastName": {"S": c.lastName},
            "emailAddress": {"S": c.emailAddress},
        }

    # --- logical access patterns to calls -----------------------------------------------
    def get_conversation(self, conversation_id: str) -> Call:
        return Call("get_item", {
            "TableName": self.tables.conversations,
            "Key": {"conversationId": {"S": conversation_id}},
            "ReturnConsumedCapacity": "INDEXES",
        })

    def query_by_candidate_status(self, candidate_id: str, status: str) -> Call:
        return Call("query", {
            "TableName": self.tables.conversations,
            "IndexName": self.tables.status_index,
            "KeyConditionExpression": "candidateId = :c AND #s = :s",
            "ExpressionAttributeNames": {"#s": "status"},  # status is a reserved word
            "ExpressionAttributeValues": {":c": {"S": candidate_id}, ":s": {"S": status}},
            "ReturnConsumedCapacity": "INDEXES",
        })

    def update_status(self, conversation_id: str, status: str, now: str) -> Call:
        return Call("update_item", {
            "TableName": self.tables.conversations,
            "Key": {"conversationId": {"S": conversation_id}},
            "UpdateExpression": "SET #s = :s, lastUpdated = :t",
            # Only update conversations that exist: an update must never create a stub item.
            "ConditionExpression": "attribute_exists(conversationId)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": status}, ":t": {"S": now}},
            "ReturnConsumedCapacity": "INDEXES",
        })

    def batch_get_candidates(self, candidate_ids: list[str]) -> Call:
        return Call("batch_get_item", {
            "RequestItems": {self.tables.candidates: {
                "Keys": [{"candidateId": {"S": c}} for c in candidate_ids]}},
            "ReturnConsumedCapacity": "INDEXES",
        })

    def create_conversation(self, conversation: Conversation) -> Call:
        table, item = self.conversation_item(conversation)
        return Call("put_item", {
            "TableName": table,
            "Item": item,
            # A new conversation never overwrites one: an id collision must show as an error.
            "ConditionExpression": "attribute_not_exists(conversationId)",
            "ReturnConsumedCapacity": "INDEXES",
        })

    def append_message(self, conversation_id: str, message: Message) -> Call:
        return Call("update_item", {
            "TableName": self.tables.conversations,
            "Key": {"conversationId": {"S": conversation_id}},
            "UpdateExpression": "SET messages = list_append(messages, :m), lastUpdated = :t",
            "ConditionExpression": "attribute_exists(conversationId)",
            "ExpressionAttributeValues": {":m": {"L": [message_av(message)]},
                                          ":t": {"S": message.timestamp}},
            "ReturnConsumedCapacity": "INDEXES",
        })
