"""The Kubernetes manifests parse and name the right files and options (no cluster here)."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from ddbbench.cli import build_parser
from ddbbench.scenario import parse_scenarios
from tests.conftest import ROOT

MANIFESTS = ROOT / "deploy" / "kubernetes" / "ddbbench.yaml"


def docs() -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all(MANIFESTS.read_text())}


def test_the_manifests_parse_into_the_expected_objects() -> None:
    found = docs()
    assert set(found) == {"ServiceAccount", "ConfigMap", "Service", "Job", "Deployment"}
    for doc in found.values():
        assert doc["apiVersion"] and doc["metadata"]["name"].startswith("ddbbench")


def test_the_master_runs_a_valid_ddbbench_command_on_the_shipped_scenario() -> None:
    found = docs()
    master = found["Job"]["spec"]["template"]["spec"]["containers"][0]
    args = build_parser().parse_args(master["args"])  # exits (SystemExit) on a bad option
    replicas = found["Deployment"]["spec"]["replicas"]
    assert args.command == "run" and args.master and args.expect_workers == replicas
    scenarios = parse_scenarios(yaml.safe_load(found["ConfigMap"]["data"]["scenarios.yaml"]))
    assert args.scenario in scenarios and scenarios[args.scenario].target == "aws"
    mounts = {m["mountPath"] for m in master["volumeMounts"]}
    assert str(Path(args.scenarios_file).parent) in mounts and args.reports_dir in mounts
    assert found["Service"]["spec"]["ports"][0]["port"] == args.master_bind_port


def test_workers_run_plain_locust_on_the_locustfile_with_no_ddbbench_options() -> None:
    found = docs()
    worker = found["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    args = worker["args"]
    assert worker["command"] == ["locust"] and "--worker" in args
    assert args[args.index("-f") + 1].endswith("locustfiles/dynamodb_patterns.py")
    assert (ROOT / "locustfiles" / "dynamodb_patterns.py").exists()
    assert args[args.index("--master-host") + 1] == found["Service"]["metadata"]["name"]
    assert not [a for a in args if a.startswith("--ddb-")], shlex.join(args)
    # Credentials from the pods' role, never keys in the manifests.
    assert "AWS_SECRET_ACCESS_KEY" not in MANIFESTS.read_text()
    for kind in ("Job", "Deployment"):
        assert found[kind]["spec"]["template"]["spec"]["serviceAccountName"] == "ddbbench"
