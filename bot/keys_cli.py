"""``deploybot keys …``: provision and inspect stored provider keys from a terminal or a script."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pydantic import SecretStr

from bot.config import Settings, get_settings
from bot.crypto import KeyRing, KeyRingError
from bot.providers import build_provider
from bot.providers.errors import AuthenticationError, ProviderError
from bot.runtime import open_storage


def _read_key(provider: str) -> SecretStr:
    """The key from standard input: a hidden prompt on a terminal, else the first line."""
    if sys.stdin.isatty():
        value = getpass.getpass(f"{provider} API key (input hidden): ")
    else:
        value = sys.stdin.readline()
    return SecretStr(value.strip())


async def verify_key(provider: str, api_key: SecretStr, settings: Settings) -> None:
    client = build_provider(provider, api_key, settings)
    try:
        await client.verify()
    finally:
        await client.aclose()


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.keys_command == "generate":
        print(KeyRing.generate_key())
        return 0
    storage = await open_storage(settings)
    try:
        if args.keys_command == "set":
            api_key = _read_key(args.provider)
            if not api_key.get_secret_value():
                print("deploybot: no key on standard input; nothing stored", file=sys.stderr)
                return 2
            if not args.no_verify:
                try:
                    await verify_key(args.provider, api_key, settings)
                except AuthenticationError as exc:
                    print(f"deploybot: {args.provider} refused the key: {exc}", file=sys.stderr)
                    return 1
                except ProviderError as exc:
                    print(
                        f"deploybot: could not check the key with {args.provider}: {exc} "
                        "(use --no-verify to store it anyway)",
                        file=sys.stderr,
                    )
                    return 1
            info = await storage.keys.put(
                team_id=args.team,
                enterprise_id=args.enterprise,
                provider=args.provider,
                api_key=api_key,
                connected_by="cli",
                verified=not args.no_verify,
            )
            print(f"stored {info.provider} key {info.key_hint} for {info.team_id}")
            return 0
        if args.keys_command == "list":
            rows = await storage.keys.list(team_id=args.team)
            if not rows:
                print("no keys stored")
            for row in rows:
                verified = row.last_verified_at.isoformat() if row.last_verified_at else "never"
                print(
                    f"{row.team_id}\t{row.provider}\t{row.key_hint}\tby {row.connected_by}\t"
                    f"connected {row.connected_at.isoformat()}\tverified {verified}"
                )
            return 0
        if args.keys_command == "remove":
            removed = await storage.keys.remove(
                team_id=args.team, provider=args.provider, enterprise_id=args.enterprise
            )
            print(f"removed {removed} key(s)")
            return 0 if removed else 1
        if args.keys_command == "reencrypt":
            print(f"re-encrypted {await storage.keys.reencrypt_all()} key(s)")
            from bot.db.create_store import CreateStore

            count = await CreateStore(storage.engine, storage.keyring).reencrypt_all()
            print(f"re-encrypted {count} create request/template/certificate row(s)")
            return 0
    finally:
        await storage.aclose()
    return 2


def run_keys_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args, get_settings()))
    except KeyRingError as exc:
        print(f"deploybot: {exc}", file=sys.stderr)
        return 1
