"""The lean DynamoDB client: boto3's low-level interface for the data plane, without boto3's
per-call machinery.

A data-plane call (GetItem, Query, PutItem, UpdateItem, DeleteItem, Scan, the batch and
transaction calls) is serialised with orjson, signed by ``ddbbench.lean.signer``, sent over
the pooled keep-alive connections of ``ddbbench.lean.transport``, retried by botocore's own
standard-mode objects (``ddbbench.lean.retry``) and parsed with orjson into the dict boto3
returns (ResponseMetadata with RequestId, HTTPStatusCode, HTTPHeaders and RetryAttempts).
Errors raise the exceptions boto3 raises: the ClientError subclass of the error code, with the
same ``response``, and botocore's ConnectionError subclasses.

Everything else (CreateTable, DescribeTable, DeleteTable, ListTables, paginators, waiters,
``meta``, ``exceptions``) is delegated to a botocore client built once at construction, which
also resolves the endpoint and carries the service model: the control plane is not on the
hot path, and botocore's handling of its timestamps and waiters is kept as it is.

Example::

    client = LeanClient.create(boto3.session.Session(), None, config, Client(kind="lean"), 16)
    client.get_item(TableName="Conversations", Key={"conversationId": {"S": "..."}})
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import botocore.config
import botocore.exceptions
import orjson

from ddbbench.lean.retry import StandardRetry
from ddbbench.lean.signer import Signer
from ddbbench.lean.transport import HttpResponse, Transport, under_gevent
from ddbbench.scenario import Client

TARGET_PREFIX = "DynamoDB_20120810."
# boto3 method -> DynamoDB operation: the calls sent lean.
DATA_PLANE = {
    "get_item": "GetItem", "put_item": "PutItem", "update_item": "UpdateItem",
    "delete_item": "DeleteItem", "query": "Query", "scan": "Scan",
    "batch_get_item": "BatchGetItem", "batch_write_item": "BatchWriteItem",
    "transact_get_items": "TransactGetItems", "transact_write_items": "TransactWriteItems",
}


def _encode(value: Any) -> str:
    """orjson's fallback: blobs travel base64-encoded, as botocore sends them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not a DynamoDB request value")


def _decode_blobs(node: Any) -> None:
    """Base64 blobs of a parsed response back to bytes, in place (botocore returns bytes for
    B and BS). Only an AttributeValue has a key B with a string value or BS with a list."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "B" and isinstance(value, str):
                node[key] = base64.b64decode(value)
            elif key == "BS" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                node[key] = [base64.b64decode(v) for v in value]
            else:
                _decode_blobs(value)
    elif isinstance(node, list):
        for value in node:
            _decode_blobs(value)


class LeanClient:
    """Same method names, keyword arguments, responses and exceptions as a boto3 DynamoDB
    client for the calls in ``DATA_PLANE``; the rest is the wrapped botocore client's."""

    kind = "lean"

    def __init__(self, botocore_client: Any, credentials: Any, cfg: Client, pool_size: int) -> None:
        self._boto = botocore_client
        url = botocore_client.meta.endpoint_url  # resolved once, by botocore
        region = botocore_client.meta.region_name
        self.signer = Signer(credentials, url, region)
        self.transport = Transport(url, pool_size, cfg.connect_timeout_s, cfg.read_timeout_s)
        self.retry = StandardRetry(cfg.max_attempts)
        self.under_gevent = under_gevent()
        self._service_model = botocore_client.meta.service_model
        self._error_members: dict[str, tuple[tuple[str, str], ...]] = {}

    @classmethod
    def create(cls, session: Any, endpoint_url: str | None, config: botocore.config.Config,
               cfg: Client, pool_size: int) -> LeanClient:
        """From a boto3 session (its credential chain) and the config boto3 would be given."""
        boto = session.client("dynamodb", endpoint_url=endpoint_url, config=config)
        return cls(boto, session.get_credentials(), cfg, pool_size)

    def __getattr__(self, name: str) -> Any:
        # Only reached for what the class does not define: the control plane, meta, exceptions.
        return getattr(self._boto, name)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one operation (``GetItem``...) with boto3's semantics; its parsed response."""
        if operation == "TransactWriteItems" and "ClientRequestToken" not in params:
            params = {**params, "ClientRequestToken": str(uuid.uuid4())}  # botocore's idempotency token
        body = orjson.dumps(params, default=_encode)
        target = TARGET_PREFIX + operation
        context: dict[str, Any] = {}
        attempt = 1
        while True:
            response: HttpResponse | None = None
            error: Exception | None = None
            try:
                response = self.transport.post(self.signer.path, self.signer.headers(target, body), body)
            except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
                error = exc
            if response is not None and 200 <= response.status_code < 300 \
                    and not self.retry.success_needs_retry(response):
                return self._success(response, attempt, context)
            parsed = None if response is None else self._parsed(response)
            if not self.retry.after_attempt(attempt, self._service_model.operation_model(operation),
                                            response, parsed, error, context):
                break
            attempt += 1
        if response is None:
            assert error is not None
            raise error
        assert parsed is not None
        self.retry.after_call(context, response)
        parsed["ResponseMetadata"]["RetryAttempts"] = attempt - 1
        if response.status_code < 300:
            return parsed  # a checksum mismatch on every attempt: botocore returns the response
        code = parsed["Error"]["Code"]
        raise self._boto.exceptions.from_code(code)(parsed, operation)

    def _success(self, response: HttpResponse, attempt: int, context: dict[str, Any]) -> dict[str, Any]:
        parsed = self._parsed(response)
        meta = parsed["ResponseMetadata"]
        if attempt >= self.retry.max_attempts:
            meta["MaxAttemptsReached"] = True  # botocore's max-attempts check marks the last one
        meta["RetryAttempts"] = attempt - 1
        self.retry.after_call(context, response)
        return parsed

    def _parsed(self, response: HttpResponse) -> dict[str, Any]:
        """The dict boto3 returns for ``response`` (an error's too, before it is raised)."""
        headers = response.headers
        meta: dict[str, Any] = {}
        if "x-amzn-requestid" in headers:
            meta["RequestId"] = headers["x-amzn-requestid"]
        meta["HTTPStatusCode"] = response.status_code
        meta["HTTPHeaders"] = headers
        if response.status_code >= 300:
            return self._error(response, meta)
        content = response.content
        parsed: dict[str, Any] = orjson.loads(content) if content else {}
        if b'"B' in content:
            _decode_blobs(parsed)
        parsed["ResponseMetadata"] = meta
        return parsed

    def _error(self, response: HttpResponse, meta: dict[str, Any]) -> dict[str, Any]:
        """botocore's JSON error parsing (BaseJSONParser._do_error_parse) and its modeled error
        fields (Endpoint._add_modeled_error_fields: 'message', a failed condition's 'Item')."""
        try:
            body = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            body = {"message": response.content.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {}
        code = str(body.get("__type", response.status_code))
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
        parsed: dict[str, Any] = {"Error": {"Message": body.get("message", body.get("Message", "")),
                                            "Code": code}, "ResponseMetadata": meta}
        for member, wire in self._modeled_members(code):
            if body.get(wire) is not None:
                parsed[member] = body[wire]
        if b'"B' in response.content:
            _decode_blobs({k: v for k, v in parsed.items() if k not in ("Error", "ResponseMetadata")})
        return parsed

    def _modeled_members(self, code: str) -> tuple[tuple[str, str], ...]:
        if code not in self._error_members:
            shape = self._service_model.shape_for_error_code(code)
            self._error_members[code] = () if shape is None else tuple(
                (name, m.serialization.get("name", name)) for name, m in shape.members.items())
        return self._error_members[code]

    def close(self) -> None:
        self.transport.close()
        self._boto.close()


def _method(operation: str) -> Callable[..., dict[str, Any]]:
    def send(self: LeanClient, **kwargs: Any) -> dict[str, Any]:
        return self.call(operation, kwargs)

    send.__name__ = send.__qualname__ = next(m for m, op in DATA_PLANE.items() if op == operation)
    send.__doc__ = f"DynamoDB {operation}, as boto3's ``{send.__name__}``."
    return send


for _name, _operation in DATA_PLANE.items():
    setattr(LeanClient, _name, _method(_operation))
