"""``python -m ddbbench.stub``: serve the stub in the foreground (``__main__`` calls ``main``).

It prints ``listening on http://127.0.0.1:PORT`` once the socket listens (the line the Python
handle waits for); a bad flag prints one line ``ddbbench: error: ...`` and exits with the
error's exit code (2 for bad input, 1 when the port cannot be bound; see ddbbench.errors).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
from collections.abc import Sequence

from ddbbench.errors import BenchError
from ddbbench.stub.faults import check_delay_ms, check_port
from ddbbench.stub.server import HOST, StubHTTPServer, make_server

LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:(\d+))")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ddbbench.stub",
                                     description="DynamoDB-compatible stub server (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="added delay per DynamoDB request")
    parser.add_argument("--seed", type=int, default=0, help="seed of the error-injection generator")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ddbbench.stub [--port N] [--delay-ms X] [--seed S]``: serve in the foreground."""
    args = build_parser().parse_args(argv)
    try:
        server = _listen(args)
    except BenchError as exc:
        print(f"ddbbench: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    # The socket already listens: connections made after this line queue until accepted.
    print(f"listening on {server.endpoint}", flush=True)
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_on_stdin_eof, name="stdin-eof", daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to stop a foreground server
    finally:
        server.server_close()
    return 0


def _listen(args: argparse.Namespace) -> StubHTTPServer:
    # Checked here too, so the message names the flag rather than the keyword argument.
    delay_ms = check_delay_ms(args.delay_ms, "--delay-ms")
    port = check_port(args.port, "--port")
    try:
        return make_server(port=port, delay_ms=delay_ms, seed=args.seed)
    except OSError as exc:
        raise BenchError(f"--port: cannot listen on {HOST}:{port} ({exc}); "
                         "choose a free port, or 0 for any free one") from None


def _exit_on_stdin_eof() -> None:
    # The parent holds the write end of our stdin; when it exits (even killed with SIGKILL),
    # the read returns EOF and the stub must not outlive it.
    while True:
        try:
            if not os.read(0, 4096):
                break
        except OSError:
            break
    os._exit(0)
