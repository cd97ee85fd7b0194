"""The `zoohub` command line: `python -m hub.cli` or the `zoohub` script.

Each command group is a module of hub.commands exposing `register(subparsers)`; the parser it adds sets
`run=function(args) -> int`. A
HubError is a user's mistake or a damaged store: one line `zoohub: error: ...` and exit status 1; a UsageError
(an argument out of range or malformed) is the same line with exit status 2, as argparse's own usage errors. An
argument no parser takes is reported by the (sub)command it follows, with that command's usage (`CommandParser`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from hub.errors import HubError, UsageError
from registry.errors import RegistryError

COMMAND_MODULES = ("listing", "pull", "publish", "aliases", "verify", "gc", "reproduce", "transcribe", "embed", "app",
                   "db", "serve", "token", "export", "hf")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="zoohub", description="zoohub: a model zoo and reproducibility hub")
    parser.add_argument("--version", action=_PrintVersion, help="print zoohub's version and the core build's commit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"hub.commands.{name}").register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one zoohub command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    problem = _not_utf8(argv)
    if problem:
        print(f"zoohub: error: {problem}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (HubError, RegistryError) as exc:
        message = " ".join(str(exc).split())
        print(f"zoohub: error: {message}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        print("zoohub: interrupted", file=sys.stderr)
        return 130


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that refuses the arguments it does not take itself, with its own usage line, exit status 2.

    argparse hands a subcommand's unknown arguments up to the top parser, so `zoohub list --bogus` printed the usage
    of `zoohub`, not of `zoohub list`; and it checks for a missing subcommand before it reports unknown arguments, so
    `zoohub --nope` said only that COMMAND is required. Its subparsers (made by add_subparsers) are of this class too.

    >>> CommandParser(prog="zoohub").parse_args(["--nope"])  # zoohub: error: unrecognized arguments: --nope
    """

    _commands: argparse._SubParsersAction | None = None
    _command_required = False

    def add_subparsers(self, **kwargs) -> argparse._SubParsersAction:
        """As argparse's; a required command is checked after the unknown arguments (see parse_known_args)."""
        self._command_required = kwargs.pop("required", False)
        self._commands = super().add_subparsers(required=False, **kwargs)
        return self._commands

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        """As parse_args: extras are an error here, so the innermost command's parser reports them."""
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        commands = self._commands
        if self._command_required and getattr(namespace, commands.dest, None) is None:
            self.error(f"the following arguments are required: {commands.metavar or commands.dest}")
        return namespace, extras


def version_line() -> str:
    """What `zoohub --version` prints: the package version and the git commit the C++ core was built from.

    >>> version_line()
    'zoohub 0.1.0 (core built from git c8a99a9)'
    """
    from hub import __version__
    try:
        import core
        commit = core.backend_info().get("git_commit", "")
    except ImportError:  # the C++ core is not built: the version is still worth printing
        return f"zoohub {__version__} (core not built)"
    return f"zoohub {__version__}" + (f" (core built from git {commit})" if commit else "")


class _PrintVersion(argparse.Action):
    """`--version`: print version_line() and exit 0; the line is made only when asked (it imports the core)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version_line())
        parser.exit(0)


def _not_utf8(argv: list[str]) -> str | None:
    """What is not valid UTF-8 among the arguments and $ZOOHUB_ACTOR (Python keeps such bytes as surrogates,
    which no database column or JSON file can hold), or None."""
    named = [(f"argument {i + 1} ({ascii(arg)})", arg) for i, arg in enumerate(argv)]
    named.append(("$ZOOHUB_ACTOR", os.environ.get("ZOOHUB_ACTOR", "")))
    for what, text in named:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return f"{what} is not valid UTF-8 text"
    return None


if __name__ == "__main__":
    sys.exit(main())
