"""``single-table``: one table for everything, with overloaded keys.

Base table (PK, SK):
- conversation ``CONV#<id>`` / ``CONV``: the seed's attributes, messages as a list;
- its events ``CONV#<id>`` / ``EVENT#<timestamp>#<eventId>``: in the conversation's partition,
  in time order;
- candidate profile ``CANDIDATE#<id>`` / ``PROFILE``.
Index GSI1 (GSI1PK, GSI1SK), projection ALL: a candidate's partition ``CANDIDATE#<id>`` holds
its profile (``PROFILE``) and its conversations (``CONV#<status>#<changedAt>#<id>``), so
"conversations of a candidate in a status" is a ``begins_with`` query, newest first, and the
profile is one query away. A status change rewrites GSI1SK: two index writes (delete + put).
"""

from __future__ import annotations

from typing import Any

from datagen.model import Candidate, Conversation, Event, Message
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

INDEX = "GSI1"


def conv_pk(conversation_id: str) -> dict[str, str]:
    return s(f"CONV#{conversation_id}")


def candidate_pk(candidate_id: str) -> dict[str, str]:
    return s(f"CANDIDATE#{candidate_id}")


def index_sk(conversation_id: str, status: str, changed_at: str) -> dict[str, str]:
    return s(f"CONV#{status}#{changed_at}#{conversation_id}")


class SingleTableDesign(Design):
    name = "single-table"
    summary = "one table, overloaded PK/SK; GSI1 groups a candidate's profile and conversations"

    def table_specs(self) -> list[dict[str, Any]]:
        keys = ("PK", "SK", "GSI1PK", "GSI1SK")
        return [{
            "TableName": self.tables.conversations,
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                          {"AttributeName": "SK", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in keys],
            "GlobalSecondaryIndexes": [{
                "IndexName": INDEX,
                "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                              {"AttributeName": "GSI1SK", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            "BillingMode": "PAY_PER_REQUEST",
        }]

    # --- entities to items -----------------------------------------------------------------
    def conversation_item(self, c: Conversation) -> Item:
        return {
            "PK": conv_pk(c.conversationId), "SK": s("CONV"),
            "GSI1PK": candidate_pk(c.candidateId),
            "GSI1SK": index_sk(c.conversationId, c.status, c.lastUpdated),
            "conversationId": s(c.conversationId), "candidateId": s(c.candidateId),
            "jobId": s(c.jobId), "status": s(c.status), "lastUpdated": s(c.lastUpdated),
            "messages": {"L": [message_av(m) for m in c.messages]},
        }

    def conversation_items(self, c: Conversation) -> list[TableItem]:
        return [(self.tables.conversations, self.conversation_item(c))]

    def candidate_items(self, c: Candidate) -> list[TableItem]:
        return [(self.tables.conversations, {
            "PK": candidate_pk(c.candidateId), "SK": s("PROFILE"),
            "GSI1PK": candidate_pk(c.candidateId), "GSI1SK": s("PROFILE"),
            "candidateId": s(c.candidateId), "phoneNumber": s(c.phoneNumber),
            "firstName": s(c.firstName), "lastName": s(c.lastName),
            "emailAddress": s(c.emailAddress),
        })]

    def event_items(self, e: Event) -> list[TableItem]:
        return [(self.tables.conversations, {
            "PK": conv_pk(e.conversationId), "SK": s(f"EVENT#{e.timestamp}#{e.eventId}"),
            "eventId": s(e.eventId), "eventType": s(e.eventType), "timestamp": s(e.timestamp),
            "candidateId": s(e.candidateId), "detail": s(e.detail)})]

    # --- logical access patterns to calls -----------------------------------------------
    def _key(self, conversation_id: str) -> dict[str, Any]:
        return {"PK": conv_pk(conversation_id), "SK": s("CONV")}

    def get_conversation(self, conversation_id: str) -> Call:
        return Call("get_item", {"TableName": self.tables.conversations,
                                 "Key": self._key(conversation_id), "ReturnConsumedCapacity": CC})

    def query_by_candidate_status(self, candidate_id: str, status: str) -> Call:
        return paginated(Call("query", {
            "TableName": self.tables.conversations,
            "IndexName": INDEX,
            "KeyConditionExpression": "GSI1PK = :pk AND begins_with(GSI1SK, :p)",
            "ExpressionAttributeValues": {":pk": candidate_pk(candidate_id), ":p": s(f"CONV#{status}#")},
            "ScanIndexForward": False,  # newest first
            "ReturnConsumedCapacity": CC,
        }))

    def update_status(self, conversation_id: str, status: str, now: str) -> Call:
        return Call("update_item", {
            "TableName": self.tables.conversations,
            "Key": self._key(conversation_id),
            "UpdateExpression": "SET #s = :s, lastUpdated = :t, GSI1SK = :g",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": s(status), ":t": s(now),
                                          ":g": index_sk(conversation_id, status, now)},
            "ReturnConsumedCapacity": CC,
        })

    def append_message(self, conversation_id: str, message: Message) -> Call:
        return Call("update_item", {
            "TableName": self.tables.conversations,
            "Key": self._key(conversation_id),
            "UpdateExpression": "SET messages = list_append(messages, :m), lastUpdated = :t",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {":m": {"L": [message_av(message)]},
                                          ":t": s(message.timestamp)},
            "ReturnConsumedCapacity": CC,
        })

    def candidate_key(self, candidate_id: str) -> Item:
        return {"PK": candidate_pk(candidate_id), "SK": s("PROFILE")}

    def candidate_table(self) -> str:
        return self.tables.conversations

    def event_table(self) -> str:
        return self.tables.conversations  # events sit in their conversation's partition
