"""``python -m azassist.simulator``: run the local realtime server until Ctrl+C.

The key comes from ``AZASSIST_SIMULATOR_API_KEY`` (preferred), ``--api-key-stdin`` or
``--api-key``; argv is visible to every user of the machine, so the last one warns. The key is
never printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

API_KEY_ENV = "AZASSIST_SIMULATOR_API_KEY"
RESPONDER_NAMES = ("demo", "echo", "scripted")  # kept in step with responders.RESPONDERS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azassist simulator",
        description="Local Azure OpenAI realtime server (offline demo, audio check, tests).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        help=f"the key clients must send (prefer ${API_KEY_ENV}: argv is visible to others)",
    )
    parser.add_argument(
        "--api-key-stdin", action="store_true", help="read the key from the first line of stdin"
    )
    parser.add_argument("--responder", choices=RESPONDER_NAMES, default="demo")
    parser.add_argument(
        "--deployment",
        action="append",
        dest="deployments",
        help="realtime deployment name (repeatable; default gpt-realtime)",
    )
    parser.add_argument(
        "--pace", type=float, default=1.0, help="audio pacing: 1 real time, 0 as fast as possible"
    )
    parser.add_argument("--strict", action="store_true", help="validate every event (slower)")
    parser.add_argument("--verbose", "-v", action="store_true")
    return parser


def _read_key(args: argparse.Namespace) -> str | None:
    if args.api_key_stdin:
        return sys.stdin.readline().strip() or None
    if args.api_key:
        print(
            "warning: --api-key is visible to other users in the process list; "
            f"prefer ${API_KEY_ENV}",
            file=sys.stderr,
        )
        return str(args.api_key)
    return os.environ.get(API_KEY_ENV) or None


async def _serve(args: argparse.Namespace, api_key: str) -> None:
    from .server import LocalRealtimeServer

    server = LocalRealtimeServer(
        api_key=api_key,
        host=args.host,
        port=args.port,
        responder=args.responder,
        deployments=tuple(args.deployments or ("gpt-realtime",)),
        pace=args.pace,
        strict_validation=args.strict,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: no handlers
            loop.add_signal_handler(signum, stop.set)
    async with server:
        print(f"azassist simulator ({args.responder}) listening on {server.endpoint}", flush=True)
        print(f"deployments: {', '.join(server.config.deployments)}", flush=True)
        print("press Ctrl+C to stop", flush=True)
        await stop.wait()
    print("simulator stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point (also behind ``azassist simulator``). Returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from .net import LoopbackOnlyError, resolve_loopback

    try:
        resolve_loopback(args.host)  # before the slow imports: fail fast and clearly
    except LoopbackOnlyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    api_key = _read_key(args)
    if not api_key:
        print(
            f"error: no API key: set {API_KEY_ENV}, or use --api-key-stdin",
            file=sys.stderr,
        )
        return 2
    try:
        asyncio.run(_serve(args, api_key))
    except KeyboardInterrupt:  # Windows, where the signal handler is unavailable
        print("simulator stopped", flush=True)
    except (ValueError, OSError) as exc:  # non-loopback host, port in use
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
