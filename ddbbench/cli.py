"""The ``ddbbench`` command: translates arguments into library calls, nothing more."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import signal
import sys
from pathlib import Path
from typing import Any, TypeAlias

from ddbbench import __version__, local
from ddbbench.errors import FAILED, INTERRUPTED, BenchError, ConfigError, UnusableInput
from ddbbench.paths import default_scenarios_file, reports_dir
from ddbbench.scenario import DEFAULT_ERROR_BUDGET, DESIGN_NAMES, Scenario, load_scenario, load_scenarios


def echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _scenario_from(args: argparse.Namespace) -> Scenario:
    """The command's one resolution of the scenario: the file's, with every override."""
    from ddbbench.resolved import Overrides, apply_overrides  # loads faker: not for --help

    overrides = Overrides(target=getattr(args, "target", None), design=getattr(args, "design", None),
                          duration_s=getattr(args, "duration", None), users=getattr(args, "users", None),
                          processes=getattr(args, "processes", None),
                          table_prefix=getattr(args, "table_prefix", None))
    sc = apply_overrides(load_scenario(args.scenarios_file, args.scenario), overrides)
    return dataclasses.replace(sc, region=args.region) if getattr(args, "region", None) else sc


def _spend_from(args: argparse.Namespace) -> Any:
    """Consent, dry run and caps off DynamoDB Local (ddbbench/consent.py)."""
    from ddbbench.consent import Spend

    return Spend(yes=args.yes, dry_run=args.dry_run, max_cost=args.max_cost,
                 max_request_units=args.max_request_units,
                 prices_file=Path(args.prices) if getattr(args, "prices", None) else None)


# --- commands ------------------------------------------------------------------------------

def cmd_local(args: argparse.Namespace) -> int:
    if args.action == "install":
        echo(f"DynamoDB Local ready in {local.install()}")
    elif args.action == "start":
        info = local.start_detached(port=args.port, db_path=args.db_path)
        print(json.dumps(local.describe(info), indent=2))
        echo(f"DynamoDB Local running at {info.endpoint} (pid {info.pid}); "
             "stop it with `ddbbench local stop`")
    elif args.action == "stop":
        info = local.stop_detached()
        echo(f"stopped DynamoDB Local (pid {info.pid})" if info else "DynamoDB Local was not running")
    else:
        info = local.read_state()
        if info is None:
            echo("DynamoDB Local is not running")
            return FAILED
        print(json.dumps(local.describe(info), indent=2))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from ddbbench.run import load_target

    stats = load_target(_with_loader_flags(_scenario_from(args), args), _spend_from(args),
                        args.recreate_tables, args.resume, args.profile, echo)
    print(json.dumps(stats.to_dict(), indent=2))
    return 0


def _with_loader_flags(sc: Scenario, args: argparse.Namespace) -> Scenario:
    changes = {k: getattr(args, k) for k in ("max_items_per_s", "max_wcu_per_s")
               if getattr(args, k) is not None}
    return dataclasses.replace(sc, loader=dataclasses.replace(sc.loader, **changes)) if changes else sc


def cmd_generate(args: argparse.Namespace) -> int:
    from datagen.export import export_dataset
    from ddbbench.progress import ProgressPrinter

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    manifest = export_dataset(_scenario_from(args), Path(args.out), formats, args.gzip,
                              ProgressPrinter("generate"))
    echo(f"wrote {', '.join(manifest['files'])} under {args.out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from analysis.report import summary_table
    from ddbbench.run import RunRequest, Workers, check_objectives, run_scenario

    if args.expect_workers is not None and not args.master:
        raise ConfigError("--expect-workers: given without --master; allowed: with --master")
    workers = Workers(args.expect_workers or 1, args.master_bind_host, args.master_bind_port) \
        if args.master else Workers()
    req = RunRequest(scenario=_scenario_from(args), scenarios_file=Path(args.scenarios_file),
                     reports_root=Path(args.reports_dir), port=args.port,
                     skip_load=args.skip_load, recreate_tables=args.recreate_tables, workers=workers,
                     spend=_spend_from(args), profile=args.profile, teardown=args.teardown)
    run_dir, summary = run_scenario(req, echo)
    print(summary_table(summary))
    print(f"\nreport: {run_dir / 'report.html'}")
    if args.check:
        check_objectives(summary)
    return 0


def cmd_compare_designs(args: argparse.Namespace) -> int:
    from ddbbench.compare_designs import DesignsRequest, compare_designs, parse_designs

    req = DesignsRequest(scenario=_scenario_from(args), designs=parse_designs(args.designs),
                         scenarios_file=Path(args.scenarios_file), reports_root=Path(args.reports_dir),
                         recreate_tables=bool(args.recreate_tables),
                         prices_file=Path(args.prices) if args.prices else None,
                         spend=_spend_from(args), profile=args.profile)
    root, _ = compare_designs(req, echo)
    print((root / "comparison.md").read_text())
    print(f"comparison: {root / 'comparison.html'}")
    return 0


def cmd_designs(args: argparse.Namespace) -> int:
    from ddbbench.designs import DESIGNS

    for name, cls in DESIGNS.items():
        print(f"{name:<20} {cls.summary}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.report import build_report, summary_table

    summary = build_report(args.run_dir)
    print(summary_table(summary))
    print(f"\nreport: {Path(args.run_dir) / 'report.html'}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from analysis.compare import Thresholds
    from analysis.gate import gate_junit, gate_markdown, gate_table, run_gate

    th = Thresholds(percentile=args.percentile, max_increase=args.max_increase,
                    absolute_ms=args.absolute_ms, absolute_slo=args.absolute_slo,
                    capacity_tolerance=args.capacity_tolerance, latency=not args.no_latency,
                    capacity=not args.no_capacity)
    result = run_gate(args.baseline, args.candidate, th, _run_dirs(args.baselines or []),
                      args.calibration_factor)
    print(gate_table(result))
    if args.markdown:
        Path(args.markdown).write_text(gate_markdown(result))
    if args.junit:
        Path(args.junit).write_text(gate_junit(result))
    return 1 if result.regression else 0


def _run_dirs(paths: list[str]) -> list[Path]:
    """Run directories: each path is one (it has a manifest.json) or a folder of them."""
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            raise UnusableInput(f"--baselines {p}: not a run directory or a folder of them")
        out += [p] if (p / "manifest.json").exists() else sorted(d for d in p.iterdir()
                                                                  if (d / "manifest.json").exists())
    return out


def cmd_plan(args: argparse.Namespace) -> int:
    from analysis.planreport import plan_markdown
    from analysis.planrun import PlanRequest, make_plan, write_plan

    req = PlanRequest(run_dir=Path(args.run_dir), rates=tuple(args.rate), total_rps=args.total_rps,
                      conversations_per_day=args.conversations_per_day,
                      messages_per_conversation=args.messages_per_conversation,
                      utilisation=args.utilisation, prices_file=Path(args.prices) if args.prices else None,
                      items=tuple(args.items))
    plan = make_plan(req)
    json_path, _ = write_plan(plan, Path(args.out or args.run_dir))
    print(plan_markdown(plan))
    echo(f"wrote {json_path} and plan.md beside it")
    return 0


def cmd_knee(args: argparse.Namespace) -> int:
    from ddbbench.knee import KneeRequest, run_knee

    req = KneeRequest(scenario=_scenario_from(args), reports_root=Path(args.reports_dir),
                      start=args.start, step=args.step, max=args.max, step_s=args.step_s,
                      settle_s=args.settle_s, error_budget=args.error_budget, port=args.port,
                      skip_load=args.skip_load, recreate_tables=args.recreate_tables,
                      spend=_spend_from(args), profile=args.profile)
    knee_dir, _ = run_knee(req, echo)
    print((knee_dir / "knee.md").read_text())
    print(f"knee: {knee_dir / 'knee.md'} (chart: knee.png)")
    return 0


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from ddbbench.iam import PLACEHOLDER_ACCOUNT, caller_account, iam_policy

    sc = _scenario_from(args)
    account = args.account or caller_account(sc.region, args.profile)
    if account is None:
        echo(f"no AWS credentials answered STS GetCallerIdentity: account shown as {PLACEHOLDER_ACCOUNT} "
             "(or give --account)")
    print(json.dumps(iam_policy(sc, account or PLACEHOLDER_ACCOUNT, sc.region), indent=2))


def cmd_tables(args: argparse.Namespace) -> int:
    from ddbbench.teardown import TablesRequest, manage_tables

    req = TablesRequest(scenario=_scenario_from(args), action=args.action, names=tuple(args.names),
                        dataset=args.dataset, yes=args.yes)
    print(json.dumps(manage_tables(req, echo), indent=2))
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    from ddbbench.designs import check_scenario_design

    scenarios = load_scenarios(args.file or args.scenarios_file)
    for sc in scenarios.values():
        check_scenario_design(sc)
    if args.action == "validate":
        echo(f"{args.file or args.scenarios_file}: {len(scenarios)} valid scenario(s): "
             + ", ".join(scenarios))
        return 0
    for name, sc in scenarios.items():
        print(f"{name:<14} target={sc.target:<8} model={sc.load.model:<6} users={sc.load.users:<4} "
              f"run={sc.load.run_time_s:g}s conversations={sc.dataset.conversations:,}  "
              f"{sc.description}")
    return 0


# --- parser --------------------------------------------------------------------------------

# What add_subparsers() returns; argparse has no public name for it (a string: it is generic
# only for type checkers).
_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _common(p: argparse.ArgumentParser, scenario: bool = True) -> None:
    p.add_argument("--scenarios-file", default=str(default_scenarios_file()),
                   help="scenarios file (default: %(default)s)")
    if scenario:
        p.add_argument("--scenario", "-s", default="baseline", help="scenario name (default: %(default)s)")
        p.add_argument("--target", help="override the scenario target: local, aws or an http(s) URL")
        p.add_argument("--design", help="override the scenario's key design (see `ddbbench designs`)")
        p.add_argument("--table-prefix", help="prefix of the table names ('' for the names as written; "
                       "default: ddbbench-<dataset id>- off DynamoDB Local, none on it)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ddbbench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ddbbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    # One function per command, in the order `ddbbench --help` lists them.
    for add in (_add_local_parser, _add_load_parser, _add_generate_parser, _add_run_parser,
                _add_compare_designs_parser, _add_designs_parser, _add_report_parser, _add_compare_parser,
                _add_plan_parser, _add_knee_parser, _add_tables_parser, _add_scenarios_parser,
                _add_iam_policy_parser):
        add(sub)
    return parser


def _add_local_parser(sub: _Commands) -> None:
    p = sub.add_parser("local", help="manage a detached DynamoDB Local")
    p.add_argument("action", choices=("install", "start", "stop", "status"))
    p.add_argument("--port", type=int, help="port (default: a free one)")
    p.add_argument("--db-path", help="persist tables in this folder instead of memory")
    p.set_defaults(func=cmd_local)


def _add_load_parser(sub: _Commands) -> None:
    p = sub.add_parser("load", help="generate the scenario's dataset and bulk-load it")
    _common(p)
    _tables_flags(p)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted load of the same dataset into the same tables")
    p.add_argument("--max-items-per-s", type=_rate,
                   help="cap the items written per second (override loader.max_items_per_s)")
    p.add_argument("--max-wcu-per-s", type=_rate, help="cap the write capacity used per second "
                   "(override loader.max_wcu_per_s)")
    _spend_flags(p)
    _credentials_flags(p)
    p.set_defaults(func=cmd_load)


def _add_generate_parser(sub: _Commands) -> None:
    p = sub.add_parser("generate", help="write the scenario's dataset as files (JSON lines, "
                       "DynamoDB JSON for import from S3)")
    _common(p)
    p.add_argument("--out", required=True, help="an empty or new folder")
    p.add_argument("--format", default="jsonl,dynamodb-json",
                   help="comma-separated: jsonl, dynamodb-json (default: both)")
    p.add_argument("--gzip", action="store_true", help="gzip every file (deterministic bytes)")
    p.set_defaults(func=cmd_generate)


def _add_run_parser(sub: _Commands) -> None:
    p = sub.add_parser("run", help="load, replay the access patterns with Locust, report")
    _common(p)
    _tables_flags(p)
    p.add_argument("--duration", type=float, help="override load.duration_s (seconds)")
    p.add_argument("--users", type=int, help="override load.users")
    p.add_argument("--processes", type=int, help="override load.processes (Locust --processes)")
    p.add_argument("--port", type=int, help="port for a DynamoDB Local this run starts")
    p.add_argument("--skip-load", action="store_true", help="replay against tables already loaded")
    p.add_argument("--master", action="store_true", help="replay on workers of other machines: "
                   "Locust listens for `locust -f locustfiles/dynamodb_patterns.py --worker "
                   "--master-host HOST` (docs/distributed.md)")
    p.add_argument("--expect-workers", type=_count, help="with --master: workers to wait for (default 1)")
    p.add_argument("--master-bind-host", default="*", help="with --master: interface to listen on "
                   "(default: all)")
    p.add_argument("--master-bind-port", type=int, default=5557, help="with --master (default: %(default)s)")
    p.add_argument("--teardown", action="store_true",
                   help="delete the tables this run created at its end (also after an error or Ctrl-C)")
    p.add_argument("--check", action="store_true", help="exit 3 when the run completed but missed "
                   "an objective (default: report the miss and exit 0)")
    p.add_argument("--reports-dir", default=str(reports_dir()), help="default: %(default)s")
    _spend_flags(p)
    _credentials_flags(p)
    p.set_defaults(func=cmd_run)


def _add_compare_designs_parser(sub: _Commands) -> None:
    p = sub.add_parser("compare-designs", help="run the scenario on several key designs in turn "
                       "and compare latency, capacity and storage side by side")
    _common(p)
    p.add_argument("--designs", default=",".join(DESIGN_NAMES),
                   help="comma-separated key designs (default: all: %(default)s)")
    p.add_argument("--duration", type=float, help="override load.duration_s (seconds)")
    p.add_argument("--recreate-tables", action="store_true",
                   help="allow deleting and recreating tables on a target other than local")
    p.add_argument("--prices", help="price table (default: analysis/prices.yaml)")
    p.add_argument("--reports-dir", default=str(reports_dir()), help="default: %(default)s")
    _spend_flags(p, prices=False)
    _credentials_flags(p)
    p.set_defaults(func=cmd_compare_designs)


def _add_designs_parser(sub: _Commands) -> None:
    p = sub.add_parser("designs", help="list the key designs")
    p.set_defaults(func=cmd_designs)


def _add_report_parser(sub: _Commands) -> None:
    p = sub.add_parser("report", help="rebuild summary and report of a run directory")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_report)


def _add_compare_parser(sub: _Commands) -> None:
    p = sub.add_parser("compare", help="CI gate: does CANDIDATE regress against BASELINE? "
                       "(exit 0 pass, 1 regression, 2 unusable or incomparable input)")
    p.add_argument("baseline")
    p.add_argument("candidate")
    tolerance = p.add_mutually_exclusive_group()
    tolerance.add_argument("--capacity-tolerance", type=_fraction, default=0.02,
                           help="allowed growth of capacity units, items and bytes written per "
                           "request, as a fraction (default: %(default)s)")
    tolerance.add_argument("--baselines", nargs="+", metavar="RUN_OR_FOLDER",
                           help="more baseline runs of the same code (or folders of them): the "
                           "capacity tolerance becomes --calibration-factor x the largest spread "
                           "among all baselines")
    p.add_argument("--calibration-factor", type=float, default=3.0, help="default: %(default)s")
    p.add_argument("--no-capacity", action="store_true", help="do not judge capacity")
    p.add_argument("--no-latency", action="store_true", help="judge capacity only")
    p.add_argument("--percentile", type=_percentile,
                   help="latency percentile judged (default: each pattern's objective percentile)")
    p.add_argument("--max-increase", type=_fraction, default=0.15,
                   help="allowed growth of the percentile, as a fraction (default: %(default)s)")
    abs_group = p.add_mutually_exclusive_group()
    abs_group.add_argument("--absolute-ms", type=float,
                           help="also fail when the candidate's percentile is at or above this "
                           "(default: off)")
    abs_group.add_argument("--absolute-slo", action="store_true", help="also fail when the candidate "
                           "misses its scenario's objective at the judged percentile (default: off)")
    p.add_argument("--markdown", help="write a markdown summary (for a pull request) here")
    p.add_argument("--junit", help="write JUnit XML (for CI systems) here")
    p.set_defaults(func=cmd_compare)


def _add_plan_parser(sub: _Commands) -> None:
    p = sub.add_parser("plan", help="capacity plan: project a run's measured capacity to a target "
                       "traffic, price it (docs/capacity-planning.md)")
    p.add_argument("run_dir")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--rate", action="append", default=[], metavar="PATTERN=RPS",
                   help="target requests/s of one pattern (repeatable)")
    g.add_argument("--total-rps", type=float, help="target requests/s in all, split by the run's mix")
    g.add_argument("--conversations-per-day", type=float,
                   help="target conversations a day (one append_message per message)")
    p.add_argument("--messages-per-conversation", type=float,
                   help="with --conversations-per-day (default: the dataset's mean)")
    p.add_argument("--utilisation", type=float, default=0.7,
                   help="average use of provisioned capacity (default: %(default)s)")
    p.add_argument("--prices", help="price table (default: analysis/prices.yaml)")
    p.add_argument("--items", action="append", default=[], metavar="TABLE=COUNT",
                   help="projected items of a table, for storage (default: the run's dataset)")
    p.add_argument("--out", help="write plan.json and plan.md here (default: RUN_DIR)")
    p.set_defaults(func=cmd_plan)


def _add_knee_parser(sub: _Commands) -> None:
    p = sub.add_parser("knee", help="find the knee: step the open-model arrival rate up until the "
                       "SLO or error budget breaks (docs/capacity-planning.md)")
    _common(p)
    _tables_flags(p)
    p.add_argument("--start", type=float, required=True, help="first offered rate (requests/s)")
    p.add_argument("--step", type=float, required=True, help="rate added per step (requests/s)")
    p.add_argument("--max", type=float, required=True, help="last offered rate (requests/s)")
    p.add_argument("--step-s", type=float, default=20.0, help="measured seconds per step (default: "
                   "%(default)s)")
    p.add_argument("--settle-s", type=float, help="unmeasured seconds at the start of each step "
                   "(default: the scenario's load.warmup_s)")
    p.add_argument("--error-budget", type=float, default=DEFAULT_ERROR_BUDGET,
                   help="highest error rate (all patterns) a passing step may have (default: "
                   "%(default)s, 0.1%%; each objective's own budget applies too)")
    p.add_argument("--processes", type=int, help="override load.processes (Locust --processes)")
    p.add_argument("--port", type=int, help="port for a DynamoDB Local the knee run starts")
    p.add_argument("--skip-load", action="store_true", help="step against tables already loaded")
    p.add_argument("--reports-dir", default=str(reports_dir()), help="default: %(default)s")
    _spend_flags(p)
    _credentials_flags(p)
    p.set_defaults(func=cmd_knee)


def _add_tables_parser(sub: _Commands) -> None:
    p = sub.add_parser("tables", help="list, delete or adopt the tables ddbbench owns on the target "
                       "(docs/real-tables.md)")
    p.add_argument("action", choices=("list", "delete", "adopt"))
    p.add_argument("names", nargs="*", metavar="NAME", help="adopt: the table(s) to mark as owned")
    _common(p)
    p.add_argument("--dataset", help="delete: only the tables of this dataset id (`tables list`)")
    p.add_argument("--yes", action="store_true", help="delete or adopt: do it (without: say what)")
    p.set_defaults(func=cmd_tables)


def _add_scenarios_parser(sub: _Commands) -> None:
    p = sub.add_parser("scenarios", help="list or validate scenarios")
    p.add_argument("action", choices=("list", "validate"))
    p.add_argument("file", nargs="?", help="scenarios file (default: --scenarios-file)")
    _common(p, scenario=False)
    p.set_defaults(func=cmd_scenarios)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a count >= 1")
    return value


def _add_iam_policy_parser(sub: _Commands) -> None:
    p = sub.add_parser("iam-policy", help="print the least-privilege IAM policy (JSON) of a scenario "
                       "on its key design: load, replay, teardown")
    _common(p)
    p.add_argument("--account", help="AWS account id in the ARNs (default: STS GetCallerIdentity, "
                   "else the placeholder ACCOUNT_ID)")
    _credentials_flags(p)
    p.set_defaults(func=cmd_iam_policy)


def _percentile(text: str) -> float:
    value = float(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentile in (0, 100]")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 10] (0.15 = +15%)")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate per second >= 0 (0 = unlimited)")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number > 0")
    return value


def _spend_flags(p: argparse.ArgumentParser, prices: bool = True) -> None:
    """Consent and caps off DynamoDB Local (docs/real-tables.md)."""
    g = p.add_argument_group("spending (off DynamoDB Local)")
    g.add_argument("--yes", action="store_true", help="agree to the cost preview without being asked")
    g.add_argument("--dry-run", action="store_true", help="show the cost preview and do nothing")
    g.add_argument("--max-cost", type=_positive, metavar="USD",
                   help="refuse a plan over USD (exit 2), and stop once request units worth USD are used")
    g.add_argument("--max-request-units", type=_positive, metavar="N",
                   help="stop the load and the replay cleanly once N request units are consumed")
    if prices:
        g.add_argument("--prices", help="price table (default: analysis/prices.yaml)")


def _credentials_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", help="AWS profile name (default: the standard boto3 chain)")
    p.add_argument("--region", help="override the scenario's region")


def _tables_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--recreate-tables", dest="recreate_tables", action="store_true", default=None,
                   help="delete and recreate the tables first (default on DynamoDB Local only)")
    g.add_argument("--keep-tables", dest="recreate_tables", action="store_false",
                   help="never delete existing tables")


def _on_sigterm(signum: int, frame: Any) -> None:
    # Turn SIGTERM into an exception so `with` blocks stop a managed DynamoDB Local.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"ddbbench: {'error: ' if exc.exit_code else ''}{exc}", file=sys.stderr)  # 0: a dry run
        return exc.exit_code
    except KeyboardInterrupt:
        print("ddbbench: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
