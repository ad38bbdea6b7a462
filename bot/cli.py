"""The ``deploybot`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from bot import __version__
from bot.config import Settings
from bot.logs import configure_logging


def _ports(value: str) -> tuple[int, ...]:
    try:
        ports = tuple(int(p) for p in value.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated port numbers (Nosana,Akash,NeuraNET), got {value!r}"
        ) from None
    if len(ports) > 3 or any(not 0 <= p <= 65535 for p in ports):
        raise argparse.ArgumentTypeError("give at most three ports, each 0-65535")
    return ports


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def add_roles_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`deploybot roles grant|revoke|list`: the way back in when nobody can manage roles."""
    roles = sub.add_parser(
        "roles",
        help="grant, revoke and list deploybot roles of a workspace (e.g. when locked out)",
        description=(
            "Change deploybot roles directly in the bot's database (the same settings as "
            "`deploybot serve`), e.g. to make someone an admin again when nobody can manage "
            "roles from Slack. Each change is recorded in the audit log as done by 'cli'."
        ),
    )
    roles_sub = roles.add_subparsers(dest="roles_command", metavar="ACTION", required=True)
    grant = roles_sub.add_parser("grant", help="give a person or user group a role")
    grant.add_argument("team_id", help="Slack team (workspace) id, e.g. T0123")
    grant.add_argument("subject_id", help="Slack user id (U…/W…) or user group id (S…)")
    grant.add_argument("role", choices=["viewer", "operator", "admin"])
    revoke = roles_sub.add_parser("revoke", help="remove a person's or user group's grant")
    revoke.add_argument("team_id", help="Slack team (workspace) id, e.g. T0123")
    revoke.add_argument("subject_id", help="Slack user id (U…/W…) or user group id (S…)")
    listing = roles_sub.add_parser("list", help="show a workspace's grants and default role")
    listing.add_argument("team_id", help="Slack team (workspace) id, e.g. T0123")
    for parser in (grant, revoke, listing):
        parser.add_argument("--enterprise", default=None, help="Enterprise Grid id (E…), if any")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploybot",
        description="Slack chat-ops for GPU/container deployments on Nosana, Akash and NeuraNET.",
    )
    parser.add_argument("--version", action="version", version=f"deploybot {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = sub.add_parser(
        "sandbox",
        help="serve local emulators of the Nosana, Akash and NeuraNET APIs",
        description=(
            "Serve local emulators of the three provider APIs on loopback and print one line "
            "per API: '<provider> <base_url> <demo_api_key>'. Ctrl-C stops them."
        ),
    )
    sandbox.add_argument(
        "--speed",
        type=_positive,
        default=10.0,
        help="how much faster than real time the emulated worlds run (default 10)",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sandbox.add_argument(
        "--ports",
        type=_ports,
        default=(),
        help="ports for Nosana,Akash,NeuraNET (default: free ports)",
    )
    sandbox.add_argument(
        "--stop-after", type=_positive, default=None, help=argparse.SUPPRESS
    )  # for tests: stop by itself after N seconds

    sub.add_parser(
        "serve",
        help="the web process: serve Slack over HTTP on $PORT (Socket Mode too when "
        "SLACK_APP_TOKEN is set); acks and writes jobs, run by `deploybot worker`",
    )
    sub.add_parser(
        "worker",
        help="the worker process: runs jobs, the watcher, notifications and the approval "
        "sweeper (/livez, /readyz, /metrics on $DEPLOYBOT_WORKER_PORT)",
    )
    shell = sub.add_parser(
        "shell",
        help="talk to deploybot in this terminal, against the built-in sandbox networks",
        description=(
            "The same app and handlers as in Slack, fed from the keyboard: type what you would "
            "type after /deploy; buttons are numbered (type the number to click), forms become "
            "prompts. Without provider URLs configured it starts the sandbox emulators and "
            "connects their demo keys."
        ),
    )
    shell.add_argument(
        "--speed", type=_positive, default=10.0, help="sandbox speed-up (default 10)"
    )
    shell.add_argument(
        "--real-providers",
        action="store_true",
        help="use the configured provider URLs and stored keys instead of the sandbox",
    )
    shell.add_argument(
        "--reset",
        action="store_true",
        help=(
            "start the local workspace afresh: delete its database (data/shell.db) and the "
            "sandboxes' state (data/sandbox.state) together; files in data/exports stay"
        ),
    )
    sub.add_parser(
        "run",
        help="serve Slack and run jobs in one process when Slack credentials are configured, "
        "else start the local shell",
    )

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="migrate the database (DATABASE_URL) to the newest schema")

    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_sub.add_parser(
        "verify", help="check every workspace's hash chain; report the first broken link"
    )

    add_roles_parser(sub)

    keys = sub.add_parser("keys", help="provider API keys stored for workspaces")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    key_set = keys_sub.add_parser(
        "set",
        help="store a workspace's key for a provider; the key is read from standard input",
    )
    key_set.add_argument("provider", choices=["nosana", "akash", "neuranet"])
    key_set.add_argument("--team", required=True, help="Slack team (workspace) id, e.g. T0123")
    key_set.add_argument("--enterprise", default=None, help="Enterprise Grid id, if any")
    key_set.add_argument(
        "--no-verify", action="store_true", help="store without checking the key with the provider"
    )
    key_list = keys_sub.add_parser("list", help="show stored keys (masked)")
    key_list.add_argument("--team", default=None)
    key_remove = keys_sub.add_parser("remove", help="delete a workspace's key for a provider")
    key_remove.add_argument("provider", choices=["nosana", "akash", "neuranet"])
    key_remove.add_argument("--team", required=True)
    key_remove.add_argument("--enterprise", default=None)
    keys_sub.add_parser("generate", help="print a new encryption key for DEPLOYBOT_ENCRYPTION_KEYS")
    keys_sub.add_parser(
        "reencrypt",
        help="re-encrypt every stored key under the first DEPLOYBOT_ENCRYPTION_KEYS key",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging("text", verbose=args.verbose)
    via_run = args.command == "run"
    if via_run:
        from bot.config import get_settings

        args.command = "serve" if get_settings().slack_configured else "shell"
        if args.command == "shell":
            args.speed, args.real_providers, args.reset = 10.0, False, False
    command = _COMMANDS.get(args.command)
    if command is None:
        parser.print_help()
        return 0
    return command(args, via_run)


def _sandbox(args: argparse.Namespace, via_run: bool) -> int:
    from sandbox.server import serve_forever

    def emit(line: str) -> None:
        print(line, flush=True)

    try:
        asyncio.run(
            serve_forever(
                speed=args.speed,
                host=args.host,
                ports=args.ports,
                print_line=emit,
                stop_after=args.stop_after,
            )
        )
    except OSError as exc:
        print(f"deploybot: could not start the sandbox: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _serve(args: argparse.Namespace, via_run: bool) -> int:
    from bot.config import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"deploybot: {settings_problems(exc)}", file=sys.stderr)
        return 2
    # JSON lines for a server's log pipeline; `run` is someone at a terminal. (Set before
    # the server's imports: some of them log.)
    configure_logging(settings.log_format or ("text" if via_run else "json"), verbose=args.verbose)
    from bot.app import ConfigurationError
    from bot.server import Role, serve

    role: Role = "all" if via_run else "worker" if args.command == "worker" else "web"
    try:
        serve(settings, role)
    except ConfigurationError as exc:
        print(f"deploybot: {exc}", file=sys.stderr)
        return 2
    return 0


def _shell(args: argparse.Namespace, via_run: bool) -> int:
    from bot.config import get_settings

    if not args.verbose:  # the screen is the conversation: log only what goes wrong
        logging.getLogger().setLevel(logging.WARNING)
    from bot.shell import run_shell

    if args.reset and args.real_providers:
        print("deploybot: --reset resets the sandbox workspace, not real providers' data")
        return 2
    try:
        return asyncio.run(
            run_shell(
                get_settings(),
                speed=args.speed,
                sandbox=not args.real_providers,
                reset=args.reset,
            )
        )
    except KeyboardInterrupt:
        return 0


def _db(args: argparse.Namespace, via_run: bool) -> int:
    from bot.config import get_settings
    from bot.db.migrate import upgrade

    upgrade(get_settings().effective_database_url)
    print("database is at the newest schema")
    return 0


def _audit(args: argparse.Namespace, via_run: bool) -> int:
    from bot.config import get_settings

    settings = get_settings().for_local_tools()
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        print(f"deploybot: no database at {url.database}: nothing to verify", file=sys.stderr)
        return 2
    print(f"checking {url.render_as_string(hide_password=True)}")
    return asyncio.run(verify_audit(settings))


def _store(args: argparse.Namespace, via_run: bool) -> int:
    return _run_store_command(args)


_COMMANDS: dict[str, Callable[[argparse.Namespace, bool], int]] = {
    "sandbox": _sandbox,
    "serve": _serve,
    "worker": _serve,
    "shell": _shell,
    "db": _db,
    "audit": _audit,
    "keys": _store,
    "roles": _store,
}


def settings_problems(exc: ValidationError) -> str:
    """Invalid settings, one per line, named as they are set (the values are never echoed:
    some are secrets)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        lines.append(f"{name}: {error['msg']}")
    return "invalid settings:\n" + "\n".join(lines)


def _run_store_command(args: argparse.Namespace) -> int:
    """``deploybot keys …`` and ``deploybot roles …``: work on the bot's database."""
    if args.command == "roles":
        from bot.roles_cli import run_roles_command

        return run_roles_command(args)
    from bot.keys_cli import run_keys_command

    return run_keys_command(args)


async def verify_audit(settings: Settings) -> int:
    """``deploybot audit verify``: 0 when every chain is intact, 1 at the first broken link."""
    from bot.db.audit import AuditLog
    from bot.runtime import open_storage

    storage = await open_storage(settings)
    try:
        report = await AuditLog(storage.engine).verify()
    finally:
        await storage.aclose()
    if report.ok:
        print(f"audit log intact: {report.entries} entries in {report.chains} workspace chain(s)")
        return 0
    for broken in report.broken:
        print(f"audit log broken: {broken}")
    return 1
