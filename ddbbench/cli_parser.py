"""The ``ddbbench`` command line: its options, one small function per command.

``ddbbench.cli`` runs the command ``build_parser`` parsed (``args.command``). Example::

    >>> build_parser().parse_args(["run", "-s", "smoke", "--check"]).check
    True
"""

from __future__ import annotations

import argparse
import math
from typing import TypeAlias

from ddbbench import __version__
from ddbbench.paths import default_scenarios_file, reports_dir
from ddbbench.scenario import DEFAULT_ERROR_BUDGET, DESIGN_NAMES

DESCRIPTION = "The ``ddbbench`` command: translates arguments into library calls, nothing more."

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
    parser = argparse.ArgumentParser(prog="ddbbench", description=DESCRIPTION)
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


def _add_generate_parser(sub: _Commands) -> None:
    p = sub.add_parser("generate", help="write the scenario's dataset as files (JSON lines, "
                       "DynamoDB JSON for import from S3)")
    _common(p)
    p.add_argument("--out", required=True, help="an empty or new folder")
    p.add_argument("--format", default="jsonl,dynamodb-json",
                   help="comma-separated: jsonl, dynamodb-json (default: both)")
    p.add_argument("--gzip", action="store_true", help="gzip every file (deterministic bytes)")


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


def _add_designs_parser(sub: _Commands) -> None:
    sub.add_parser("designs", help="list the key designs")


def _add_report_parser(sub: _Commands) -> None:
    p = sub.add_parser("report", help="rebuild summary and report of a run directory")
    p.add_argument("run_dir")


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
    p.add_argument("--judge-busy-machine", action="store_true",
                   help="judge latency even when a run's machine was saturated (all cores >= 90%% "
                   "busy; default: not judged), e.g. when DynamoDB Local shares the runner's cores "
                   "and a change far beyond that noise is to be caught")
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


def _add_tables_parser(sub: _Commands) -> None:
    p = sub.add_parser("tables", help="list, delete or adopt the tables ddbbench owns on the target "
                       "(docs/real-tables.md)")
    p.add_argument("action", choices=("list", "delete", "adopt"))
    p.add_argument("names", nargs="*", metavar="NAME", help="adopt: the table(s) to mark as owned")
    _common(p)
    p.add_argument("--dataset", help="delete: only the tables of this dataset id (`tables list`)")
    p.add_argument("--yes", action="store_true", help="delete or adopt: do it (without: say what)")


def _add_scenarios_parser(sub: _Commands) -> None:
    p = sub.add_parser("scenarios", help="list or validate scenarios")
    p.add_argument("action", choices=("list", "validate"))
    p.add_argument("file", nargs="?", help="scenarios file (default: --scenarios-file)")
    _common(p, scenario=False)


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


def _finite(text: str) -> float:
    """The number typed, or NaN for anything that is not one (the callers refuse NaN)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def _rate(text: str) -> float:
    value = _finite(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate per second >= 0 (0 = unlimited)")
    return value


def _positive(text: str) -> float:
    value = _finite(text)
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
