"""One table of exit codes (ddbbench.errors.EXIT_CODES), used by every command and documented once.

The command-line cases run the real commands in a subprocess and check both the code and the
one-line `ddbbench: error: ...` message.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ddbbench.errors import (
    EXIT_CODES,
    BenchError,
    ConfigError,
    Interrupted,
    ObjectiveMissed,
    UnusableInput,
)
from ddbbench.rundir import read_manifest
from ddbbench.stub import StubServer
from tests.conftest import ROOT, run_cli


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ddbbench: error: "), stderr
    return lines[0]


def stub_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ddbbench.stub", *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ), cwd=ROOT, stdin=subprocess.DEVNULL)


# --- the table --------------------------------------------------------------------------------

def test_the_table_holds_the_documented_codes_and_every_error_class_uses_one() -> None:
    assert sorted(EXIT_CODES) == [0, 1, 2, 3, 130]
    assert EXIT_CODES[0] == "done"
    codes = {cls: cls.exit_code for cls in (BenchError, ConfigError, UnusableInput, ObjectiveMissed,
                                            Interrupted)}
    assert codes == {BenchError: 1, ConfigError: 2, UnusableInput: 2, ObjectiveMissed: 3, Interrupted: 130}
    assert issubclass(ObjectiveMissed, BenchError)


def test_the_readme_shows_exactly_the_table() -> None:
    readme = (ROOT / "README.md").read_text()
    command_line = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", command_line, flags=re.MULTILINE)
    assert {int(code): meaning for code, meaning in rows} == EXIT_CODES


# --- run directories: unusable input is exit 2 in every command --------------------------------

@pytest.mark.parametrize(("manifest", "message"), [
    (None, "not a run directory (no manifest.json)"),
    ("{not json", "unreadable manifest"),
    (json.dumps({"format": "ddbbench-run", "format_version": 999}), "version 999 is not supported")])
def test_read_manifest_refuses_unusable_directories(tmp_path: Path, manifest: str | None,
                                                    message: str) -> None:
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(UnusableInput, match=re.escape(message)) as info:
        read_manifest(tmp_path)
    assert info.value.exit_code == 2


def test_report_on_a_folder_without_manifest_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = run_cli("report", str(tmp_path), timeout=120)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == (f"ddbbench: error: {tmp_path}: not a run directory "
                                           "(no manifest.json)")


# --- local status -----------------------------------------------------------------------------

def test_local_status_when_not_running_prints_the_message_and_exits_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDBBENCH_CACHE", str(tmp_path))  # no state file: nothing was started here
    proc = run_cli("local", "status", timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "DynamoDB Local is not running" and proc.stdout == ""


# --- the stub: library and command -------------------------------------------------------------

def test_a_bad_stub_fault_rule_raises_config_error() -> None:
    with pytest.raises(ConfigError, match=r"errors\[0\]\.rate: 2 is not a rate in \[0, 1\]") as info:
        StubServer(errors=[{"code": "ThrottlingException", "rate": 2}])
    assert info.value.exit_code == 2


def test_stub_command_with_a_negative_delay_exits_2_with_one_line() -> None:
    proc = stub_command("--delay-ms", "-1")
    assert proc.returncode == 2 and proc.stdout == ""
    assert one_error_line(proc.stderr) == ("ddbbench: error: --delay-ms: -1.0 is not a number of "
                                           "milliseconds >= 0")


def test_stub_command_on_a_taken_port_exits_1_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = stub_command("--port", str(port))
    assert proc.returncode == 1
    line = one_error_line(proc.stderr)
    assert line.startswith(f"ddbbench: error: --port: cannot listen on 127.0.0.1:{port} ("), line
