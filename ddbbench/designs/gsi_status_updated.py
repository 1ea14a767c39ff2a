"""``gsi-status-updated``: the seed's table with a narrower, ordered index.

The GSI is keyed on candidateId with the composite sort key ``statusUpdated`` =
``STATUS#<when the conversation entered it>``, so a candidate's conversations in a status
come newest first, and projects KEYS_ONLY: the index stores and writes far less, but a query
must fetch the conversations themselves (BatchGetItem, 100 keys a call) and that cost is part
of the measured operation. Appends do not move a conversation in the index (its sort key is
the time of the status change), so they cost no index write.
"""

from __future__ import annotations

from typing import Any

from ddbbench.designs.base import CC, Call, Item, Response, batch_items, chained, items_of, paginated, s, text
from ddbbench.designs.seed import SeedDesign

BATCH_GET_LIMIT = 100


class GsiStatusUpdatedDesign(SeedDesign):
    name = "gsi-status-updated"
    summary = "GSI (candidateId, status#changedAt) KEYS_ONLY, newest first; query then BatchGetItem"

    def index_name(self) -> str:
        return "candidateId-statusUpdated-index"

    def index_key(self) -> tuple[str, str]:
        return ("candidateId", "statusUpdated")

    def index_projection(self) -> dict[str, Any]:
        return {"ProjectionType": "KEYS_ONLY"}

    def index_attributes(self, status: str, changed_at: str) -> Item:
        return {"statusUpdated": s(f"{status}#{changed_at}")}

    def query_by_candidate_status(self, candidate_id: str, status: str) -> Call:
        return paginated(Call("query", {
            "TableName": self.tables.conversations,
            "IndexName": self.index_name(),
            "KeyConditionExpression": "candidateId = :c AND begins_with(statusUpdated, :p)",
            "ExpressionAttributeValues": {":c": s(candidate_id), ":p": s(f"{status}#")},
            "ScanIndexForward": False,  # newest first
            "ReturnConsumedCapacity": CC,
        }, counts_items=False), after=self._fetch)

    def _fetch(self, pages: list[Response]) -> Call | None:
        ids = [text(it, "conversationId") for it in items_of(pages)]
        calls = [Call("batch_get_item", {
            "RequestItems": {self.tables.conversations: {
                "Keys": [{"conversationId": s(i)} for i in ids[k:k + BATCH_GET_LIMIT]]}},
            "ReturnConsumedCapacity": CC,
        }) for k in range(0, len(ids), BATCH_GET_LIMIT)]
        return chained(*calls) if calls else None

    def read_query(self, responses: list[Response]) -> list[str]:
        ordered = [text(it, "conversationId") for it in items_of(responses)]
        fetched = {text(it, "conversationId") for it in batch_items(responses, self.tables.conversations)}
        return [i for i in ordered if i in fetched]
