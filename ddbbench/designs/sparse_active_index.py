"""``sparse-active-index``: the seed's table, but only active conversations are indexed.

Conversations that are not COMPLETED carry ``activeStatus`` (a copy of their status); the
GSI is keyed on (candidateId, activeStatus), so it holds the active set only. Completing a
conversation REMOVEs the attribute, taking it out of the index; appends to completed
conversations then cost no index write, and the index stores only what is live. The price:
the index cannot answer a query for COMPLETED conversations, so scenarios run on this design
must keep ``keys.query_statuses`` to active statuses.
"""

from __future__ import annotations

from ddbbench.designs.base import ACTIVE_STATUSES, Item, s
from ddbbench.designs.seed import SeedDesign


class SparseActiveIndexDesign(SeedDesign):
    name = "sparse-active-index"
    summary = "GSI (candidateId, activeStatus) holding only conversations that are not COMPLETED"
    query_statuses = ACTIVE_STATUSES

    def index_name(self) -> str:
        return "candidateId-activeStatus-index"

    def index_key(self) -> tuple[str, str]:
        return ("candidateId", "activeStatus")

    def index_attributes(self, status: str, changed_at: str) -> Item:
        return {"activeStatus": s(status)} if status in ACTIVE_STATUSES else {}

    def status_removal(self, status: str) -> str:
        return "" if status in ACTIVE_STATUSES else " REMOVE activeStatus"
