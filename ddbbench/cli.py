"""The ``ddbbench`` command: translates arguments into library calls, nothing more."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path
from typing import Any

from ddbbench import local
from ddbbench.cli_parser import build_parser
from ddbbench.errors import FAILED, INTERRUPTED, BenchError, ConfigError, UnusableInput
from ddbbench.scenario import Scenario, load_scenario, load_scenarios


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
    from ddbbench.locust_process import Workers
    from ddbbench.run import RunRequest, check_objectives, run_scenario

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
                    capacity=not args.no_capacity, busy_machine=args.judge_busy_machine)
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


COMMANDS = {
    "local": cmd_local,
    "load": cmd_load,
    "generate": cmd_generate,
    "run": cmd_run,
    "compare-designs": cmd_compare_designs,
    "designs": cmd_designs,
    "report": cmd_report,
    "compare": cmd_compare,
    "plan": cmd_plan,
    "knee": cmd_knee,
    "tables": cmd_tables,
    "scenarios": cmd_scenarios,
    "iam-policy": cmd_iam_policy,
}


def _on_sigterm(signum: int, frame: Any) -> None:
    # Turn SIGTERM into an exception so `with` blocks stop a managed DynamoDB Local.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return COMMANDS[args.command](args)
    except BenchError as exc:
        print(f"ddbbench: {'error: ' if exc.exit_code else ''}{exc}", file=sys.stderr)  # 0: a dry run
        return exc.exit_code
    except KeyboardInterrupt:
        print("ddbbench: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
