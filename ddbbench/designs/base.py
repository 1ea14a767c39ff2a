"""What every key design provides, and the pieces designs share.

A design maps the logical entities (candidate, conversation with messages, event) to items,
and each logical access pattern to a ``Call``: one DynamoDB request, or a chain of them when
the design needs several (a query then a fetch of what a narrow index does not project; a
message put then a header update). The timer covers the whole chain: it is what the
application waits for. Reading a chain's responses back into logical answers (``read_*``) is
how the tests prove that every design answers every question the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from datagen.model import Candidate, Conversation, Event, Message
from ddbbench.facts import ACTIVE_STATUSES as ACTIVE_STATUSES  # re-exported for the designs
from ddbbench.facts import BATCH_WRITE_LIMIT, STATUSES
from ddbbench.facts import ITEM_OVERHEAD_BYTES as ITEM_OVERHEAD_BYTES  # re-exported (compare_designs)
from ddbbench.scenario import Tables

Item = dict[str, dict[str, Any]]  # DynamoDB JSON, e.g. {"status": {"S": "ONGOING"}}
TableItem = tuple[str, Item]
Response = dict[str, Any]
CC = "INDEXES"  # ReturnConsumedCapacity on every call: capacity per table and per index


# Built per request, so slotted and not frozen (a frozen __init__ costs a setattr call per
# field: about 0.6 us of a lean request's ~100); nothing changes a Call once it is built.
@dataclass(slots=True)
class Call:
    """One DynamoDB request: the low-level client method and its keyword arguments.

    ``then``, given this call's response, returns the next call of the same logical operation
    (or None when it is complete). ``counts_items``: whether the items this call returns are
    the operation's answer (a key-only query's hits are not; the fetch that follows is).
    """

    operation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    then: Callable[[Response], Call | None] | None = field(default=None, compare=False)
    counts_items: bool = True


def paginated(call: Call, after: Callable[[list[Response]], Call | None] | None = None,
              pages: list[Response] | None = None) -> Call:
    """``call`` (a Query) followed through every page; then ``after`` of all pages, if given.

    DynamoDB returns at most 1 MB per page: an application reading a candidate's conversations
    or a conversation's messages must follow LastEvaluatedKey, and so must a benchmark.
    """
    seen = [] if pages is None else pages

    def next_call(resp: Response) -> Call | None:
        seen.append(resp)
        if "LastEvaluatedKey" in resp:
            kwargs = {**call.kwargs, "ExclusiveStartKey": resp["LastEvaluatedKey"]}
            return paginated(Call(call.operation, kwargs, counts_items=call.counts_items), after, seen)
        return after(seen) if after else None

    return Call(call.operation, call.kwargs, next_call, call.counts_items)


def chained(*calls: Call) -> Call:
    """Independent calls sent one after the other as one logical operation."""
    first, *rest = calls
    if not rest:
        return first
    return Call(first.operation, first.kwargs, lambda _resp: chained(*rest), first.counts_items)


def run_chain(client: Any, call: Call) -> list[Response]:
    """Send a call and everything it chains to; every response, in order (tests, tools)."""
    responses = []
    step: Call | None = call
    while step is not None:
        resp = getattr(client, step.operation)(**step.kwargs)
        responses.append(resp)
        step = step.then(resp) if step.then else None
    return responses


# --- DynamoDB JSON helpers ------------------------------------------------------------------

def s(value: str) -> dict[str, str]:
    return {"S": value}


def message_av(m: Message) -> dict[str, Any]:
    return {"M": {"sender": s(m.sender), "timestamp": s(m.timestamp), "content": s(m.content)}}


def message_of(av: dict[str, Any]) -> Message:
    m = av["M"]
    return Message(m["sender"]["S"], m["timestamp"]["S"], m["content"]["S"])


def text(item: Item, name: str) -> str:
    return item[name]["S"]


def candidate_of(item: Item) -> Candidate:
    return Candidate(*(text(item, f) for f in ("candidateId", "phoneNumber", "firstName",
                                                "lastName", "emailAddress")))


def items_of(responses: list[Response]) -> list[Item]:
    """Items of Query/Scan pages and of GetItem responses, in order."""
    out: list[Item] = []
    for resp in responses:
        out.extend(resp.get("Items", []))
        if "Item" in resp:
            out.append(resp["Item"])
    return out


def batch_items(responses: list[Response], table: str) -> list[Item]:
    return [it for resp in responses for it in resp.get("Responses", {}).get(table, [])]


def conversation_of(item: Item) -> Conversation:
    """A conversation item with its messages inside, as the logical conversation."""
    return Conversation(text(item, "conversationId"), text(item, "candidateId"),
                        text(item, "jobId"), text(item, "status"), text(item, "lastUpdated"),
                        tuple(message_of(m) for m in item["messages"]["L"]))


class Design(ABC):
    """One key design. Subclasses set ``name`` and ``summary`` and implement the abstract
    methods; the others are shared (built on the design's own ``*_items``, ``table_specs`` and
    ``candidate_key``) and overridden only where a design differs. Adding a design is one
    module in ddbbench/designs/ plus its registration and a test."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # Statuses the query pattern can be asked for (a sparse index may hold only some).
    query_statuses: ClassVar[tuple[str, ...]] = STATUSES

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    # --- schema ----------------------------------------------------------------------------
    @abstractmethod
    def table_specs(self) -> list[dict[str, Any]]:
        """CreateTable arguments for every table of the design (on-demand billing)."""

    # --- entities to items -----------------------------------------------------------------
    @abstractmethod
    def candidate_items(self, c: Candidate) -> list[TableItem]: ...

    @abstractmethod
    def conversation_items(self, c: Conversation) -> list[TableItem]: ...

    def entity_items(self, kind: str, entity: Any) -> list[TableItem]:
        """The items of one entity of ``datagen.model.entities`` (kind: candidate,
        conversation or event)."""
        if kind == "candidate":
            return self.candidate_items(entity)
        if kind == "conversation":
            return self.conversation_items(entity)
        return self.event_items(entity)

    def event_items(self, e: Event) -> list[TableItem]:
        """Events in their own table, a conversation's in time order (shared by most designs)."""
        return [(self.tables.events, {
            "conversationId": s(e.conversationId), "eventKey": s(f"{e.timestamp}#{e.eventId}"),
            "eventId": s(e.eventId), "eventType": s(e.eventType), "timestamp": s(e.timestamp),
            "candidateId": s(e.candidateId), "detail": s(e.detail)})]

    def event_table_spec(self) -> dict[str, Any]:
        return {
            "TableName": self.tables.events,
            "KeySchema": [{"AttributeName": "conversationId", "KeyType": "HASH"},
                          {"AttributeName": "eventKey", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "conversationId", "AttributeType": "S"},
                                     {"AttributeName": "eventKey", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }

    def candidate_table_spec(self) -> dict[str, Any]:
        return {
            "TableName": self.tables.candidates,
            "KeySchema": [{"AttributeName": "candidateId", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "candidateId", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }

    def table_names(self) -> list[str]:
        return [spec["TableName"] for spec in self.table_specs()]

    def roles(self) -> dict[str, str]:
        """Which table plays each logical role of ``table_settings`` (several roles may share
        one table: single-table). The status index is every GSI of the conversations table."""
        return {"conversations": self.tables.conversations, "candidates": self.candidate_table(),
                "events": self.event_table()}

    @cached_property
    def _hash_keys(self) -> dict[str, str]:
        return {spec["TableName"]: spec["KeySchema"][0]["AttributeName"] for spec in self.table_specs()}

    def hash_key(self, table: str) -> str:
        """The partition key attribute of one of the design's tables."""
        return self._hash_keys[table]

    # --- logical access patterns to calls ---------------------------------------------------
    @abstractmethod
    def get_conversation(self, conversation_id: str) -> Call: ...

    @abstractmethod
    def query_by_candidate_status(self, candidate_id: str, status: str) -> Call: ...

    @abstractmethod
    def update_status(self, conversation_id: str, status: str, now: str) -> Call: ...

    @abstractmethod
    def append_message(self, conversation_id: str, message: Message) -> Call: ...

    def batch_get_candidates(self, candidate_ids: list[str]) -> Call:
        return Call("batch_get_item", {
            "RequestItems": {self.candidate_table(): {
                "Keys": [self.candidate_key(c) for c in candidate_ids]}},
            "ReturnConsumedCapacity": CC,
        })

    def candidate_key(self, candidate_id: str) -> Item:
        return {"candidateId": s(candidate_id)}

    def create_conversation(self, conversation: Conversation) -> Call:
        """The conversation's items, each put only where no item is (an id collision must show
        as an error, never overwrite), in order, as one operation."""
        return chained(*(self.put_new(table, item) for table, item in self.conversation_items(conversation)))

    def put_new(self, table: str, item: Item) -> Call:
        return Call("put_item", {
            "TableName": table,
            "Item": item,
            "ConditionExpression": f"attribute_not_exists({self.hash_key(table)})",
            "ReturnConsumedCapacity": CC,
        })

    def log_events(self, events: Sequence[Event]) -> Call:
        """Events appended to the audit log: BatchWriteItem of their items (where the design's
        ``event_items`` keeps them), 25 items a call."""
        return batch_write([ti for e in events for ti in self.event_items(e)])

    def event_table(self) -> str:
        """Where event-log items live (the table of ``event_items``)."""
        return self.tables.events

    # --- responses to logical answers (defaults: a conversation is one item with its messages)
    def read_conversation(self, responses: list[Response]) -> Conversation | None:
        items = items_of(responses)
        return conversation_of(items[0]) if items else None

    def read_query(self, responses: list[Response]) -> list[str]:
        """The conversation ids a query found (in the design's order)."""
        return [text(it, "conversationId") for it in items_of(responses)]

    def read_candidates(self, responses: list[Response]) -> list[Candidate]:
        return [candidate_of(it) for it in batch_items(responses, self.candidate_table())]

    def candidate_table(self) -> str:
        """Where candidate profiles live."""
        return self.tables.candidates


def batch_write(items: Sequence[TableItem]) -> Call:
    """PutRequests of ``items`` in BatchWriteItem calls of at most 25 items, chained.

    UnprocessedItems are re-sent by the executor (``ddbbench.execute``), as an application must.
    """
    calls = []
    for k in range(0, len(items), BATCH_WRITE_LIMIT):
        request: dict[str, list[dict[str, Any]]] = {}
        for table, item in items[k:k + BATCH_WRITE_LIMIT]:
            request.setdefault(table, []).append({"PutRequest": {"Item": item}})
        calls.append(Call("batch_write_item", {"RequestItems": request, "ReturnConsumedCapacity": CC}))
    return chained(*calls)


# --- storage, by the sizing rules -----------------------------------------------------------


def index_entry(item: Item, table_spec: dict[str, Any], gsi: dict[str, Any]) -> Item | None:
    """The entry ``item`` puts in index ``gsi`` (its projected attributes), or None when the
    item lacks the index's key attributes (a sparse index does not hold it)."""
    index_keys = [k["AttributeName"] for k in gsi["KeySchema"]]
    if any(k not in item for k in index_keys):
        return None
    projection = gsi["Projection"]
    kind = projection["ProjectionType"]
    if kind == "ALL":
        return item
    keep = set(index_keys) | {k["AttributeName"] for k in table_spec["KeySchema"]}
    if kind == "INCLUDE":
        keep |= set(projection.get("NonKeyAttributes", ()))
    return {name: value for name, value in item.items() if name in keep}
