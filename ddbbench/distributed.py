"""Locust's master/worker channel carrying ddbbench's measurements: no shared disk.

The master (``locust --master``, or the parent of ``--processes``) holds the resolved run and
the run directory. At test start it sends each worker the resolved run (scenario with every
override, target, design, client) with its version and run-directory format; a worker needs
only the locustfile, the installed package and its own credentials. Workers send measurement
deltas (``ddbbench.deltas``) with every Locust stats report; the master merges them.

Stopping is a handshake: when the test stops (run time reached, Ctrl-C, the web UI's stop),
the master tells the workers to stop, each drains its in-flight requests and sends a final
delta, and the master waits for every worker's final delta (bounded) before it writes the
run directory. Locust's own teardown waits only 0.5 s for workers' last statistics.

The master's live counters serve two ends besides the progress line: one request-unit cap
across every worker (``ddbbench.budget.CapLedger``: leases refreshed at each report, the cap's
stop sent to all when the reported total reaches it), and one early stop for all when any
worker finds the target unreachable, as a single process stops itself.
"""

from __future__ import annotations

import csv
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent

from ddbbench import __version__
from ddbbench.budget import CapLedger
from ddbbench.deltas import Delta, DeltaMerger
from ddbbench.progress import PROGRESS_PREFIX, REPLAY_EVERY_S, PatternProgress, replay_line
from ddbbench.replay import UNREACHABLE_S
from ddbbench.resolved import ResolvedRun
from ddbbench.rundir import read_manifest
from ddbbench.runformat import CSV_COLUMNS, FORMAT_VERSION, PatternRecord, write_process_file

RUN = "ddbbench:run"  # master -> worker: the resolved run
HELLO = "ddbbench:hello"  # worker -> master: who I am (or why I refuse)
STOP = "ddbbench:stop"  # master -> worker: drain and send your final delta
FINAL = "ddbbench:final"  # worker -> master: the final delta
LEASE = "ddbbench:lease"  # master -> worker: a new request-unit lease (seq, cumulative limit)
CAP = "ddbbench:cap"  # master -> worker: the cap across all workers is spent, start nothing more
UNREACHABLE = "ddbbench:unreachable"  # worker -> master: the target answers nothing (since when)
STOPPED = "ddbbench:stopped"  # worker -> master: after CAP, my users have all stopped
REPORT_KEY = "ddbbench"  # in Locust's stats report: this span's delta
FINAL_GRACE_S = 10.0  # beyond the workers' drain bound: stopping users, sending


@dataclass
class WorkerInfo:
    """What the manifest says of one worker."""

    client_id: str
    host: str = ""
    pid: int = 0
    process: str = ""
    version: str = ""
    joined_s: float = 0.0  # since the test start
    left_s: float | None = None  # when its final delta arrived
    refused: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "host": self.host, "pid": self.pid,
                "process": self.process, "ddbbench": self.version, "joined_s": self.joined_s,
                "left_s": self.left_s, **({"refused": self.refused} if self.refused else {})}


def live_totals(merger: DeltaMerger) -> list[PatternProgress]:
    """Per pattern, over every worker so far: requests, errors, throttles, p50 and p99 (us) of
    the successful ones (histograms merged exactly).

    >>> live_totals(DeltaMerger())
    []
    """
    merged: dict[str, PatternRecord] = {}
    for record in merger.records.values():
        for name, pattern in record.patterns.items():
            merged.setdefault(name, PatternRecord()).merge(pattern)
    out = []
    for name, p in sorted(merged.items()):
        ok = p.latency.get(p.success_key)
        has = ok is not None and ok.count > 0
        out.append(PatternProgress(name, p.count, p.count - p.outcomes.get("ok", 0),
                                   p.outcomes.get("throttled", 0),
                                   ok.hist.get_value_at_percentile(50) if has and ok else None,
                                   ok.hist.get_value_at_percentile(99) if has and ok else None))
    return out


def unreachable_line(since_unix_s: float, who: str = "") -> str:
    """The error line of a run stopped because the target stopped answering."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since_unix_s))
    found = f" ({who} found it)" if who else ""
    return (f"ddbbench: error: the target has answered only connection errors since {stamp} "
            f"({UNREACHABLE_S:g} s or more){found}: stopping the run")


def replay_cap(manifest: dict[str, Any]) -> float | None:
    """The request units the replay may use in all (the cap less what the load and warm-up
    used), from the manifest's ``request_units``; None without a cap."""
    units = manifest.get("request_units") or {}
    if units.get("limit") is None:
        return None
    return max(0.0, float(units["limit"]) - float(units.get("used_before_replay", 0.0)))


def run_message(run: ResolvedRun, share: float) -> dict[str, Any]:
    """The resolved run as sent to a worker, with what it must agree on."""
    return {**run.manifest_fields(), "ddbbench": __version__, "format_version": FORMAT_VERSION,
            "open_share": share}


def incompatible(msg: dict[str, Any]) -> str:
    """Why a worker cannot replay what the master sent ('' when it can)."""
    if msg.get("ddbbench") != __version__ or msg.get("format_version") != FORMAT_VERSION:
        return (f"master runs ddbbench {msg.get('ddbbench')} (run format {msg.get('format_version')}), "
                f"this worker ddbbench {__version__} (run format {FORMAT_VERSION}); install the same "
                "version on every machine")
    return ""


# A process (or the master) whose cap is spent waits at most this long for its users to stop,
# each after its request in flight (a paced user sees the cap when it wakes), then ends the test.
CAP_QUIT_WAIT_S = 30.0
USERS_POLL_S = 0.1


def wait_for_users_to_stop(runner: Any, stopped: Callable[[], bool] | None = None,
                           wait_s: float = CAP_QUIT_WAIT_S) -> None:
    """Until ``runner``'s users have all stopped (a master: as the workers' reports say, or
    ``stopped()``), ``wait_s`` at most."""
    deadline = time.monotonic() + wait_s
    while runner.user_count > 0 and not (stopped and stopped()) and time.monotonic() < deadline:
        gevent.sleep(USERS_POLL_S)


def quit_when_users_stopped(environment: Any, stopped: Callable[[], bool] | None = None) -> None:
    """End the test once the users have stopped at the cap (``wait_for_users_to_stop``): a
    capped run ends there instead of idling to its run time. Headless, Locust quits; with its
    web UI the test stops and the UI stays (the results are written at the test's stop either
    way). Run in a greenlet of its own: quitting from a user raced Locust's own shutdown."""
    runner = environment.runner
    wait_for_users_to_stop(runner, stopped)
    if environment.web_ui is None:
        runner.quit()
    else:
        runner.stop()


@dataclass
class Master:
    """The master's side: send the run, merge deltas, wait for final deltas, write files."""

    environment: Any
    run: ResolvedRun
    run_dir: Path
    merger: DeltaMerger = field(default_factory=DeltaMerger)
    workers: dict[str, WorkerInfo] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    final_timeout: float = 0.0
    waited_s: float | None = None
    progress_at: float = 0.0  # when the last progress line was printed (monotonic)
    ledger: CapLedger | None = None  # the request-unit cap across workers, once the test starts
    unreachable_since: float | None = None  # a worker found the target gone: the whole run stops
    users_stopped: set[str] = field(default_factory=set)  # client ids: users stopped at the cap

    def install(self) -> None:
        runner = self.environment.runner
        runner.register_message(HELLO, self._on_hello)
        runner.register_message(FINAL, self._on_final)
        runner.register_message(UNREACHABLE, self._on_unreachable)
        runner.register_message(STOPPED, self._on_stopped)
        self.environment.events.worker_report.add_listener(self._on_report)
        self.environment.events.worker_connect.add_listener(self._on_connect)
        self.environment.events.test_stopping.add_listener(self._on_stopping)
        client = self.run.scenario.client
        self.final_timeout = client.read_timeout_s * client.max_attempts + 1 + FINAL_GRACE_S

    def start(self) -> None:
        """At test start: every connected worker gets the resolved run, and with a cap an
        equal first lease of it."""
        self.started = time.time()
        cap = replay_cap(read_manifest(self.run_dir))
        share = None
        if cap is not None:
            self.ledger = CapLedger(cap)
            clients = [c.id for c in self.environment.runner.clients.all]
            share = cap / max(len(clients), 1)
            for client_id in clients:
                self.ledger.open(client_id, share)
        self.environment.runner.send_message(RUN, self._message(share))

    def _message(self, units_share: float | None) -> dict[str, Any]:
        users = max(1, int(getattr(self.environment.runner, "target_user_count", 0) or 1))
        return run_message(self.run, 1.0 / users) | {"test_start_unix_s": self.started,
                                                      "units_share": units_share}

    def _on_connect(self, client_id: str, **_: Any) -> None:
        # A worker joining a running test gets the run before its spawn message (same socket);
        # with a cap, only what no lease holds (nothing, often: it is leased at its first report).
        if client_id not in self.workers and self.environment.runner.state in ("spawning", "running"):
            share = None if self.ledger is None else self.ledger.open(client_id, 0.0)
            self.environment.runner.send_message(RUN, self._message(share), client_id)

    def _on_hello(self, environment: Any, msg: Any, **_: Any) -> None:
        info = WorkerInfo(msg.node_id, joined_s=round(time.time() - self.started, 3), **msg.data)
        self.workers[msg.node_id] = info
        if info.refused:
            print(f"ddbbench: error: worker {info.host} ({msg.node_id}) refused the run: {info.refused}",
                  file=sys.stderr, flush=True)

    def _on_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        for doc in data.get(REPORT_KEY, ()):
            delta = Delta.from_message(doc)
            self.merger.add(delta)
            self._account(client_id, delta)
        if time.monotonic() - self.progress_at >= REPLAY_EVERY_S:
            self.progress_at = time.monotonic()
            print(PROGRESS_PREFIX + self.progress_line(), file=sys.stderr, flush=True)

    def progress_line(self) -> str:
        """The whole run so far, from every worker's deltas: the master's live counters."""
        elapsed = time.time() - self.started
        return replay_line(elapsed, self.run.scenario.load.run_time_s, live_totals(self.merger),
                           f"replay [{len(self.workers)} workers]")

    def _account(self, client_id: str, delta: Delta) -> None:
        """A worker's units into the cap's ledger: its next lease, or the stop for all."""
        units = delta.record.extra.get("request_units")
        if self.ledger is None or not units:
            return
        leases = self.ledger.report(client_id, float(units["used"]), float(units["limit"]),
                                    int(units.get("lease_seq", 0)), final=delta.final,
                                    waiting=bool(units.get("waiting")))
        for worker, seq, limit in leases:
            self.environment.runner.send_message(LEASE, {"seq": seq, "limit": limit}, worker)
        if self.ledger.reached and not self.ledger.stopped:
            self.ledger.stopped = True
            print(f"ddbbench: request-unit cap reached across the workers ({self.ledger.total:.1f} of "
                  f"{self.ledger.cap:g} units for the replay): every worker's users stop",
                  file=sys.stderr, flush=True)
            self.environment.runner.send_message(CAP, {})
            # No idling to the run time: the run ends once every worker's users have stopped
            # (each worker says so at once; Locust's own reports come every 3 s).
            gevent.spawn(quit_when_users_stopped, self.environment, lambda: not self._running())

    def _on_unreachable(self, environment: Any, msg: Any, **_: Any) -> None:
        """One worker found the target gone: the whole run stops (early, marked untrustworthy
        by that worker's mark in its measurements), as a single process stops itself."""
        if self.unreachable_since is not None:
            return
        self.unreachable_since = float(msg.data["since_unix_s"])
        info = self.workers.get(msg.node_id)
        print(unreachable_line(self.unreachable_since, f"worker {info.process if info else msg.node_id}"),
              file=sys.stderr, flush=True)
        # From its own greenlet: quitting waits for the final deltas, which this one receives.
        gevent.spawn(environment.runner.quit)

    def _on_final(self, environment: Any, msg: Any, **_: Any) -> None:
        delta = Delta.from_message(msg.data)
        self.merger.add(delta)
        self._account(msg.node_id, delta)
        info = self.workers.get(msg.node_id)
        if info is not None:
            info.left_s = round(time.time() - self.started, 3)

    def _on_stopping(self, **_: Any) -> None:
        """Tell the workers to drain and wait (bounded) for their final deltas."""
        self.environment.runner.send_message(STOP, {})
        t0 = time.monotonic()
        while self._awaited() and time.monotonic() - t0 < self.final_timeout:
            gevent.sleep(0.05)
        self.waited_s = round(time.monotonic() - t0, 3)

    def _on_stopped(self, environment: Any, msg: Any, **_: Any) -> None:
        self.users_stopped.add(msg.node_id)

    def _connected(self) -> list[WorkerInfo]:
        """Workers that took the run and Locust still has (a worker it lost, with no
        heartbeat, dead or disconnected, is waited for no more)."""
        clients = self.environment.runner.clients
        return [w for w in self.workers.values()
                if not w.refused and w.client_id in clients and clients[w.client_id].state != "missing"]

    def _running(self) -> list[str]:
        """Connected workers that have not said their users stopped at the cap."""
        return [w.process for w in self._connected() if w.client_id not in self.users_stopped]

    def _awaited(self) -> list[str]:
        """Connected workers whose final delta has not arrived; a lost worker's data up to its
        last report is kept."""
        return [w.process for w in self._connected() if w.process not in self.merger.finished]

    def _lost(self) -> list[str]:
        return [w.process for w in self.workers.values()
                if not w.refused and w.process not in self.merger.finished]

    def write(self) -> dict[str, Any]:
        """Every worker's merged measurements as its process file; what the manifest records."""
        for process in self.merger.records:
            record = self.merger.record(process)
            units = record.extra.get("request_units")
            if units and self.ledger is not None and self.ledger.stopped:
                # The cap was spent across the workers, perhaps only by the requests their final
                # deltas carried (after the test stopped): every file says so, as a single
                # process's file does when its last request spends its cap.
                units["exhausted"] = True
            write_process_file(self.run_dir / "histograms" / f"{process}.json", record)
            rows = self.merger.rows.get(process, [])
            if rows:
                path = self.run_dir / "requests" / f"{process}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("w", newline="") as f:
                    csv.writer(f).writerow(CSV_COLUMNS)
                    f.write("\n".join(rows) + "\n")
        missing = self._lost()
        return {"workers": [w.to_dict() for w in self.workers.values()],
                "final_deltas_missing": missing,
                "lost_deltas": {p: self.merger.missing_seqs(p) for p in self.merger.records
                                if self.merger.missing_seqs(p)},
                "final_wait_s": self.waited_s, "final_timeout_s": self.final_timeout,
                **({"request_units": self.cap_record()} if self.ledger is not None else {}),
                "degraded": bool(missing) or any(w.refused for w in self.workers.values())}


    def cap_record(self) -> dict[str, Any]:
        """What the manifest keeps of the cap across workers."""
        assert self.ledger is not None
        return {"replay_cap": self.ledger.cap, "used": round(self.ledger.total, 3),
                "stopped_by_cap": self.ledger.stopped, "leases_sent": self.ledger.seq}


@dataclass
class Worker:
    """A worker's side: take the run from the master, send deltas, finish on request."""

    environment: Any
    run: ResolvedRun | None = None
    test_start_unix_s: float = 0.0
    open_share: float = 1.0
    units_share: float | None = None  # this worker's first lease of --max-request-units
    seq: int = 0
    finished: bool = False
    ctx: Any = None  # the ReplayContext, once measuring
    sent_counters: dict[str, int] = field(default_factory=dict)

    def install(self) -> None:
        runner = self.environment.runner
        runner.register_message(RUN, self._on_run)
        runner.register_message(STOP, self._on_stop)
        runner.register_message(LEASE, self._on_lease)
        runner.register_message(CAP, self._on_cap)
        self.environment.events.report_to_master.add_listener(self._on_report)

    def _on_run(self, environment: Any, msg: Any, **_: Any) -> None:
        why = incompatible(msg.data)
        hello = {"host": socket.gethostname(), "pid": os.getpid(), "version": __version__,
                 "process": f"{socket.gethostname()}-{os.getpid()}"}
        if why:
            environment.runner.send_message(HELLO, hello | {"refused": why})
            print(f"ddbbench: error: {why}", file=sys.stderr, flush=True)
            return
        self.run = ResolvedRun.from_manifest(msg.data, "the master's run")
        # Times are kept relative to the test start as this worker saw it: a worker's clock
        # may differ from the master's, the moment the message arrived does not (much).
        self.test_start_unix_s = time.time()
        self.open_share = float(msg.data.get("open_share", 1.0))
        units = msg.data.get("units_share")
        self.units_share = None if units is None else float(units)
        environment.runner.send_message(HELLO, hello)

    def _on_stop(self, environment: Any, **_: Any) -> None:
        environment.runner.stop()  # fires test_stop: the plugin drains, then calls finish()

    def _on_lease(self, environment: Any, msg: Any, **_: Any) -> None:
        if self.ctx is not None and self.ctx.budget is not None:
            self.ctx.budget.grant(int(msg.data["seq"]), float(msg.data["limit"]))

    def _on_cap(self, environment: Any, **_: Any) -> None:
        if self.ctx is not None and self.ctx.budget is not None:
            self.ctx.budget.stop()  # the users see it and stop, as at a single process's cap
            gevent.spawn(self._say_stopped)

    def _say_stopped(self) -> None:
        """Tell the master once this worker's users have stopped (it ends the run then)."""
        wait_for_users_to_stop(self.environment.runner)
        self.environment.runner.send_message(STOPPED, {})

    def unreachable(self, since_unix_s: float) -> None:
        """The target answers nothing: the master stops the whole run (and this worker)."""
        self.environment.runner.send_message(UNREACHABLE, {"since_unix_s": since_unix_s})

    def _delta(self, final: bool) -> Delta:
        self.seq += 1
        counters = dict(self.ctx.counters)
        since = {k: v - self.sent_counters.get(k, 0) for k, v in counters.items()}
        self.sent_counters = counters
        record = self.ctx.recorder.take_delta(self.ctx.extra() | {"counters": since})
        return Delta(self.ctx.recorder.label, self.seq, record, tuple(self.ctx.recorder.take_rows()),
                     final)

    def _on_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if self.ctx is not None and not self.finished:
            data[REPORT_KEY] = [self._delta(final=False).to_message()]

    def finish(self) -> None:
        """After draining: the final delta, sent once."""
        if self.ctx is None or self.finished:
            return
        self.finished = True
        self.environment.runner.send_message(FINAL, self._delta(final=True).to_message())
