"""The parent-side handle: the stub server in a child process, controlled over HTTP.

The server runs in its own process so that it never competes with the client under test for
the GIL; this handle starts it (``python -m ddbbench.stub``), waits for its listening line and
changes its behaviour through the control API.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ddbbench.errors import BenchError, ConfigError
from ddbbench.stub.command import LISTENING
from ddbbench.stub.faults import check_delay_ms, check_port, check_seed, json_rules
from ddbbench.stub.server import CONTROL_PATH, HOST, STATS_PATH

# The folder holding the ddbbench package, put first on the child's path.
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class StubServer:
    """The stub server in a child process, as a context manager.

    Start waits until the child listens (it reports its port on stdout); exit terminates it
    (then kills it), also when the body raises. If the parent dies outright, the child sees
    EOF on its stdin and exits too. Bad settings raise ``ddbbench.errors.ConfigError`` (here,
    before any process starts, or from ``configure``); a child that cannot start raises
    ``BenchError``.

    Example::

        with StubServer(delay_ms=1.0) as stub:
            client = boto3.client("dynamodb", endpoint_url=stub.endpoint, region_name="us-east-1",
                                  aws_access_key_id="x", aws_secret_access_key="x")
            client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["pk"]  # {'S': 'a'}
            stub.configure(errors=[{"code": "ProvisionedThroughputExceededException", "rate": 0.5}])
            stub.stats()["operations"]                                          # {'GetItem': 1}
    """

    def __init__(self, delay_ms: float = 0.0, *, errors: Sequence[Mapping[str, Any]] | None = None,
                 seed: int = 0, port: int = 0, ready_timeout_s: float = 15.0) -> None:
        self.delay_ms = check_delay_ms(delay_ms)
        self.initial_errors = json_rules(errors) if errors else []
        self.seed = check_seed(seed)
        self.requested_port = check_port(port)
        self.ready_timeout_s = ready_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._endpoint: str | None = None
        self._port = 0

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> StubServer:
        """Start the child process and wait until it accepts connections."""
        if self._proc is not None:
            raise RuntimeError("stub server already started")
        env = dict(os.environ)
        # Make the child import this very package, whatever the parent's sys.path tricks.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT_ROOT, env.get("PYTHONPATH", "")) if p)
        cmd = [sys.executable, "-m", "ddbbench.stub", "--port", str(self.requested_port),
               "--delay-ms", repr(float(self.delay_ms)), "--seed", str(self.seed), "--exit-on-stdin-eof"]
        # New session: the user's Ctrl-C must not kill the stub before the client under test
        # has finished with it; stop() (or the stdin EOF) ends it.
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                      start_new_session=True)
        try:
            self._endpoint, self._port = self._await_listening()
            if self.initial_errors:
                self.configure(errors=self.initial_errors)
        except BaseException:
            self.stop()
            raise
        return self

    def _await_listening(self) -> tuple[str, int]:
        line = self._first_line()
        m = LISTENING.search(line)
        if m is None:
            raise BenchError(f"unexpected first line from the stub server: {line!r}; "
                             "expected 'listening on http://127.0.0.1:PORT'")
        return m.group(1).decode(), int(m.group(2))

    def _first_line(self) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + self.ready_timeout_s
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BenchError(f"stub server did not report its port within {self.ready_timeout_s:g}s")
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 4096)  # raw reads: never mix with the buffered pipe object
                if not chunk:
                    code = self._proc.wait()
                    raise BenchError(f"stub server exited with code {code} before it was ready "
                                     "(its stderr is above)")
                buf += chunk
        return buf

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the child process (kill it if it does not exit within timeout_s)."""
        proc, self._proc = self._proc, None
        self._endpoint = None  # a stopped stub has no address (start() may be called again)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- addresses ---------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, for ``endpoint_url=``."""
        if self._endpoint is None:
            raise RuntimeError("stub server not started")
        return self._endpoint

    @property
    def port(self) -> int:
        if self._endpoint is None:
            raise RuntimeError("stub server not started")
        return self._port

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # --- control -----------------------------------------------------------------------------
    def configure(self, *, delay_ms: float | None = None, errors: Sequence[Mapping[str, Any]] | None = None,
                  stall_s: float | None = None, seed: int | None = None) -> dict[str, Any]:
        """Change behaviour now, for every later (and, for stall_s, in-progress) request.

        Arguments left as None keep their value. ``errors`` replaces the rules: each is
        ``{"code": str, "status": int = 400 (500 for InternalServerError), "rate": float = 1.0,
        "operations": [op, ...] (optional filter), "message": str (optional)}``; the first rule
        that fires answers the request. Setting errors or seed reseeds the random generator.
        ``stall_s`` holds every request until now + stall_s (0 cancels). Returns the settings.
        Bad values raise ConfigError and change nothing.

        Example: ``stub.configure(delay_ms=20, errors=[{"code": "ThrottlingException", "rate": 0.1}])``
        """
        changes: dict[str, Any] = {}
        if delay_ms is not None:
            changes["delay_ms"] = delay_ms
        if errors is not None:
            changes["errors"] = json_rules(errors)
        if stall_s is not None:
            changes["stall_s"] = stall_s
        if seed is not None:
            changes["seed"] = seed
        return self._call("POST", CONTROL_PATH, changes)

    def stats(self, reset: bool = False) -> dict[str, Any]:
        """Counters since start (or the last reset): requests, operations {op: n}, errors
        {code: n}, access_keys {signing key id: n}, injected_errors, connections (that
        carried DynamoDB requests), in_flight, max_in_flight. ``reset=True`` zeroes them
        atomically with the read.

        Example: ``stub.stats()["operations"]`` -> ``{'GetItem': 50}``
        """
        return self._call("GET", STATS_PATH + ("?reset=1" if reset else ""), None)

    def _call(self, method: str, path: str, payload: object) -> dict[str, Any]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10.0)
        try:
            body = None if payload is None else json.dumps(payload)
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = json.loads(resp.read() or b"{}")
        finally:
            conn.close()
        if resp.status == 400:  # the server validated the settings: its message says what is allowed
            raise ConfigError(data.get("message", "stub server refused the settings"))
        if resp.status != 200:
            raise RuntimeError(f"stub control {method} {path}: HTTP {resp.status}: {data}")
        return data
