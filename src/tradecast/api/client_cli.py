"""``tradecast client``: call the bot's REST API from the command line and print the JSON answer.

    tradecast client [--config FILE] [--url URL] [--username U --password P] <command> [args...]

Arguments are given in the order of the method's parameters or as ``name=value``; values that parse as
JSON (numbers, true/false, lists such as ``["rsi","ema"]``) are passed as such, everything else as text.
Host, port and credentials come from the config's ``api_server`` section unless given as options.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from tradecast.api.client import ApiRequestError, ApiUnreachable, RestClient, format_json

__all__ = ["add_client_command", "client_commands", "format_help", "run_client"]

_NOT_COMMANDS = frozenset({"close", "login"})
_KEYWORD_RE = re.compile(r"^([a-z_][a-z0-9_]*)=(.*)$", re.DOTALL)


def client_commands() -> dict[str, Callable[..., Any]]:
    """Command name -> unbound :class:`RestClient` method, in alphabetical order."""
    return {
        name: member
        for name, member in sorted(vars(RestClient).items())
        if callable(member) and not name.startswith("_") and name not in _NOT_COMMANDS
    }


def _signature_text(method: Callable[..., Any]) -> str:
    parts = []
    for param in list(inspect.signature(method).parameters.values())[1:]:
        if param.kind is param.VAR_POSITIONAL:
            parts.append(f"[{param.name}...]")
        elif param.default is param.empty:
            parts.append(f"<{param.name}>")
        else:
            parts.append(f"[{param.name}={param.default!r}]")
    return " ".join(parts)


def format_help() -> str:
    """One line per command: name, parameters and the first line of its docstring."""
    lines = ["commands (arguments in order, or as name=value):"]
    for name, method in client_commands().items():
        summary = ((inspect.getdoc(method) or "").splitlines() or [""])[0]
        usage = f"{name} {_signature_text(method)}".rstrip()
        lines.append(f"  {usage:<60} {summary}")
    return "\n".join(lines)


def _coerce(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _bind_arguments(method: Callable[..., Any], raw: list[str]) -> tuple[list[Any], dict[str, Any]]:
    names = set(list(inspect.signature(method).parameters)[1:])
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for item in raw:
        match = _KEYWORD_RE.match(item)
        if match and match.group(1) in names:
            kwargs[match.group(1)] = _coerce(match.group(2))
        else:
            args.append(_coerce(item))
    try:
        inspect.signature(method).bind(None, *args, **kwargs)
    except TypeError as exc:
        raise ValueError(f"{exc}; usage: {method.__name__} {_signature_text(method)}") from None
    return args, kwargs


def _connect_host(address: str) -> str:
    """A wildcard listen address is not something to connect to: use loopback instead."""
    if address in ("0.0.0.0", ""):
        return "127.0.0.1"
    if address == "::":
        return "[::1]"
    return f"[{address}]" if ":" in address else address


def _settings_from_config(paths: list[str]) -> tuple[str, str | None, str | None]:
    from tradecast.config import load_config  # lazy: the client should not pay for config models

    api = load_config(paths).api_server
    host = _connect_host(str(getattr(api, "listen_ip_address", "127.0.0.1")))
    url = f"http://{host}:{getattr(api, 'listen_port', 8080)}"
    return url, getattr(api, "username", None), getattr(api, "password", None)


def add_client_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``client`` on the main CLI's subparsers; ``args.func`` is :func:`run_client`."""
    parser = subparsers.add_parser(
        "client",
        help="call the REST API of a running bot",
        description="Call the REST API of a running bot and print the JSON answer. "
        "Run 'tradecast client help' for the commands.",
    )
    parser.add_argument(
        "--config",
        "-c",
        action="append",
        default=[],
        metavar="FILE",
        help="config file(s) to read api_server from",
    )
    parser.add_argument("--url", help="API base URL, e.g. http://127.0.0.1:8080 (overrides the config)")
    parser.add_argument("--username", help="API username (overrides the config)")
    parser.add_argument("--password", help="API password (overrides the config)")
    parser.add_argument(
        "--basic",
        action="store_true",
        help="send Basic credentials on every call instead of logging in for tokens",
    )
    parser.add_argument("command", help="endpoint to call, or 'help'")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the command")
    parser.set_defaults(func=run_client)
    return parser


def run_client(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Handle ``tradecast client``; returns the exit code (0 ok, 1 API/connection error, 2 bad usage)."""
    out = out or sys.stdout
    err = err or sys.stderr
    commands = client_commands()
    if args.command == "help":
        print(format_help(), file=out)
        return 0
    method = commands.get(args.command)
    if method is None:
        print(f"unknown command {args.command!r}; run 'tradecast client help' for the list", file=err)
        return 2
    try:
        call_args, call_kwargs = _bind_arguments(method, list(args.args))
    except ValueError as exc:
        print(str(exc), file=err)
        return 2

    url, username, password = "http://127.0.0.1:8080", None, None
    if args.config:
        from tradecast.core.errors import ConfigError

        try:
            url, username, password = _settings_from_config(args.config)
        except ConfigError as exc:
            print(str(exc), file=err)
            return 2
    url = args.url or url
    username = args.username if args.username is not None else username
    password = args.password if args.password is not None else password

    with RestClient(url, username, password, auth="basic" if args.basic else "jwt") as client:
        try:
            result = getattr(client, args.command)(*call_args, **call_kwargs)
        except ApiUnreachable as exc:
            print(str(exc), file=err)
            return 1
        except ApiRequestError as exc:
            print(format_json(exc.payload), file=out)
            print(f"HTTP {exc.status_code}", file=err)
            return 1
    print(format_json(result), file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m tradecast.api.client_cli``) until the main CLI wires it."""
    parser = argparse.ArgumentParser(prog="tradecast")
    add_client_command(parser.add_subparsers(dest="subcommand", required=True))
    parsed = parser.parse_args(argv)
    return parsed.func(parsed)


if __name__ == "__main__":
    raise SystemExit(main())
