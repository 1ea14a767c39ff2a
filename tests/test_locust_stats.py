"""Locust's statistics of ddbbench's requests: added a batch at a time (``add_to_stats``) they
equal Locust's own listener fed one request event at a time; with another listener on the
event, every event is fired. Run in a subprocess: importing Locust monkey-patches the process
with gevent, which the test process must not be (one run for the module's tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

SCRIPT = r"""
import locust  # first: gevent's monkey patching, as in a Locust process
import json, random
from locust import User
from locust.env import Environment
import ddbbench.locust_plugin  # noqa: F401 (installs ddbbench's response-time buckets)
from ddbbench.execute import Result
from ddbbench.locust_stats import add_to_stats, deliver, fire_events, only_locust_listens

class U(User):
    pass

def env():
    e = Environment(user_classes=[U])
    e.create_local_runner()
    return e

rng = random.Random(5)
t0 = 1_790_000_000_000_000_000
results = []
for i in range(3000):
    ok = rng.random() < 0.9
    results.append((rng.choice(["get_conversation", "query_by_candidate_status", "append_message"]),
                    Result(t0 + i * 3_000_000, rng.randint(80_000, 90_000_000), "ok" if ok else
                           rng.choice(["throttled", "server_error"]), "" if ok else "Boom",
                           0, 0.5, 0.0, 1, rng.randint(0, 4000), rng.choice([0, 0, 2_500_000]))))
one, batched = env(), env()
for pattern, r in results:
    fire_events(one.events.request, [(pattern, r)])
for k in range(0, len(results), 256):
    add_to_stats(batched.stats, results[k:k + 256])

def view(entry):
    d = entry.serialize()
    per_s = d.pop("num_reqs_per_sec"), d.pop("num_fail_per_sec")
    d.pop("last_request_timestamp"); d.pop("start_time")
    d["total_response_time"] = round(d["total_response_time"], 6)
    d["response_times"] = sorted(d["response_times"].items())
    d["requests_per_s"], d["failures_per_s"] = (sorted(p.items()) for p in per_s)
    return d

out = {"one": {}, "batched": {}}
for name, e in (("one", one), ("batched", batched)):
    out[name]["total"] = view(e.stats.total)
    out[name]["entries"] = {f"{k[0]}|{k[1]}": view(v) for k, v in e.stats.entries.items()}
    out[name]["errors"] = sorted((k, v.occurrences) for k, v in e.stats.errors.items())
out["last_request_timestamp"] = batched.stats.total.last_request_timestamp
completed = {}
for _, r in results:
    s = (r.start_unix_ns + r.latency_ns) // 10**9
    completed[s] = completed.get(s, 0) + 1
out["completed_per_s"] = sorted(completed.items())
out["only_locust"] = only_locust_listens(batched.events.request._handlers)
seen = []
batched.events.request.add_listener(lambda **kw: seen.append(kw))
out["only_locust_with_a_plugin"] = only_locust_listens(batched.events.request._handlers)
deliver(batched, results[:10])
out["plugin_saw"] = [[kw["name"], kw["response_time"], kw["response_length"], str(kw["exception"])]
                     for kw in seen]
out["after_plugin_requests"] = batched.stats.total.num_requests
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def out() -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_batched_stats_equal_one_event_per_request(out: dict[str, Any]) -> None:
    one, batched = out["one"], out["batched"]
    assert one["total"]["num_requests"] == 3000 and one["total"]["num_failures"] > 200
    # A request counts in the second it completed.
    assert batched["total"]["requests_per_s"] == out["completed_per_s"]
    # Everything but the per-second counts: the listener counts a request in the second its
    # event fired (all of them within this test's first second or two), the batch in the
    # second the request completed.
    for d in (one, batched):
        for entry in [d["total"], *d["entries"].values()]:
            entry["per_s_total"] = (sum(n for _, n in entry.pop("requests_per_s")),
                                    sum(n for _, n in entry.pop("failures_per_s")))
    assert batched == one
    t0, last = 1_790_000_000, out["last_request_timestamp"]
    assert t0 + 8.9 < last < t0 + 9 + 91  # the last request's completion (3000 x 3 ms, + latency)


def test_another_listener_gets_every_event(out: dict[str, Any]) -> None:
    assert out["only_locust"] is True and out["only_locust_with_a_plugin"] is False
    saw = out["plugin_saw"]
    assert len(saw) == 10 and out["after_plugin_requests"] == 3010  # Locust's listener too
    assert all(isinstance(s[1], float) and s[1] > 0 for s in saw)
    assert {s[3] for s in saw} <= {"None", "throttled: Boom", "server_error: Boom"}
