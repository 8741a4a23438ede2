"""Command line: ``azassist [global options] [command ...]``.

Global options come before the command so one ``--config-dir`` moves every file of every
command. With no command the window opens.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from azassist import __version__
from azassist.core.paths import CONFIG_DIR_ENV, AppPaths, resolve_paths

COMMANDS = {
    "run": "open the window (the default)",
    "talk": "hold a conversation in the terminal (azassist talk --help)",
    "simulator": "run the local realtime server (azassist simulator --help)",
    "selftest": "check every part of the installation and exit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azassist",
        description="Talk to your Azure OpenAI realtime deployment from the desktop.",
        epilog="commands:\n" + "\n".join(f"  {name:<10} {text}" for name, text in COMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"azassist {__version__}")
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        help=f"keep settings, logs and conversations in DIR (also ${CONFIG_DIR_ENV})",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="how much goes to the log file (default INFO)",
    )
    parser.add_argument("--demo", action="store_true", help="open the offline demo directly")
    parser.add_argument("--connect", action="store_true", help="connect to the configured service at once")
    parser.add_argument("--selftest", action="store_true", help="same as the selftest command (options may follow)")
    parser.add_argument("command", nargs="?", default="run", choices=sorted(COMMANDS), metavar="command")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


# What ``build_parser().parse_args([])`` gives (a test keeps them equal). A plain start, from
# a desktop launcher or ``make run``, skips the parser: building one looks up gettext
# translations for its messages (~3 ms, measured) before the window's first paint.
NO_ARGUMENTS = argparse.Namespace(
    config_dir=None, log_level="INFO", demo=False, connect=False, selftest=False, command="run", args=[]
)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """The options for ``argv``; ``--selftest`` in it means the selftest command."""
    if not argv:
        return argparse.Namespace(**vars(NO_ARGUMENTS))
    if "--selftest" in argv:  # `azassist --selftest [options]` is the selftest command
        argv = list(argv)
        argv[argv.index("--selftest")] = "selftest"
    return build_parser().parse_args(argv)


def _take_api_version_from_environment() -> None:
    """The LiveKit plugin silently switches to the deprecated preview protocol when
    OPENAI_API_VERSION is set; only our settings decide that, so hide it from the plugin."""
    value = os.environ.pop("OPENAI_API_VERSION", None)
    if value:
        os.environ["AZASSIST_OFFERED_API_VERSION"] = value


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_arguments(list(sys.argv[1:] if argv is None else argv))
    _take_api_version_from_environment()
    paths: AppPaths = resolve_paths(options.config_dir).ensure()
    if options.config_dir:
        os.environ[CONFIG_DIR_ENV] = str(paths.config_dir)  # child processes follow

    def start_logging() -> None:
        from azassist.core.logs import setup_logging

        console = options.command in {"talk", "simulator"} and options.log_level == "DEBUG"
        setup_logging(paths, options.log_level, console=console)
        logging.getLogger(__name__).info("azassist %s starting: %s", __version__, options.command)

    if options.command != "run":  # the window starts it after its first paint
        start_logging()
    if options.command == "talk":
        from azassist.core.talk import main as talk_main

        return talk_main(list(options.args), paths)
    if options.command == "simulator":
        from azassist.simulator.__main__ import main as simulator_main

        return simulator_main(list(options.args))
    if options.command == "selftest":
        from azassist.selftest import main as selftest_main

        return selftest_main(list(options.args), paths)
    if options.args:
        build_parser().error(f"unexpected arguments: {' '.join(options.args)}")

    from azassist.ui.app import run_gui

    # it reads the settings, and starts the log, after the first paint
    return run_gui(paths, demo=options.demo, start_logging=start_logging, connect=options.connect)


if __name__ == "__main__":
    sys.exit(main())
