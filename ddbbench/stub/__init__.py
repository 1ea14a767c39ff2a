"""A DynamoDB-compatible stub HTTP server with controllable latency, stalls and injected errors.

It speaks just enough of the DynamoDB JSON protocol (``X-Amz-Target`` + ``application/x-amz-json-1.0``)
for boto3's low-level client: GetItem, Query, Scan, PutItem, UpdateItem, DeleteItem, BatchGetItem,
BatchWriteItem and ListTables answer with small fixed items (the requested key echoed) and, when
asked, a plausible ``ConsumedCapacity``; any other operation answers ``{}``. Uses:

* calibrating the client's own per-request overhead against a near-zero-latency server;
* proving measurement truth: a known added delay or a server stall must show up in percentiles;
* injecting errors DynamoDB Local cannot produce (throttling, HTTP 500);
* benchmarking instrumentation overhead.

The server runs in its own process so that it never competes with the client under test for the
GIL, and its behaviour is changed at runtime through a small control API on the same port::

    with StubServer(delay_ms=0.0) as stub:
        client = boto3.client("dynamodb", endpoint_url=stub.endpoint, ...)
        stub.configure(delay_ms=5.0, errors=[{"code": "ThrottlingException", "rate": 0.1}])
        stub.configure(stall_s=1.0)            # every request for the next second waits for its end
        print(stub.stats())                   # {"requests": ..., "operations": {...}, ...}

Bad settings or fault rules raise ``ddbbench.errors.ConfigError`` naming the bad value.

From a shell: ``python -m ddbbench.stub --port 8000 --delay-ms 2`` (prints
``listening on http://127.0.0.1:8000``); control it with
``curl -d '{"delay_ms": 10}' http://127.0.0.1:8000/__stub/control``.

Modules: ``server`` (the HTTP server and its control API), ``faults`` (fault rules and
settings, validated), ``responses`` (the DynamoDB answers), ``process`` (``StubServer``, the
parent-side handle), ``command`` (the command line). Only the standard library and
``ddbbench.errors`` are imported, so the server process starts in tens of milliseconds.
"""

from ddbbench.stub.command import LISTENING, main
from ddbbench.stub.faults import ERROR_TYPE_PREFIX
from ddbbench.stub.process import StubServer
from ddbbench.stub.server import CONTROL_PATH, HOST, STATS_PATH, StubHTTPServer, make_server

__all__ = ["CONTROL_PATH", "ERROR_TYPE_PREFIX", "HOST", "LISTENING", "STATS_PATH", "StubHTTPServer",
           "StubServer", "main", "make_server"]
