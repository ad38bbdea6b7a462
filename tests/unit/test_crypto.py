"""Encryption at rest: round trips, rotation across keys, the local key file, clear errors."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.crypto import KeyRing, KeyRingError, mask

SECRET = SecretStr("nos_live_0123456789abcdef")


def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    ring = KeyRing([KeyRing.generate_key()])
    token = ring.encrypt(SECRET)
    assert SECRET.get_secret_value() not in token
    assert ring.decrypt(token).get_secret_value() == SECRET.get_secret_value()
    assert "nos_live" not in repr(ring)


def test_rotation_old_key_still_decrypts_and_rotate_moves_to_new_key() -> None:
    old, new = KeyRing.generate_key(), KeyRing.generate_key()
    token = KeyRing([old]).encrypt(SECRET)
    both = KeyRing.from_env_value(f"{new},{old}")
    assert both.decrypt(token).get_secret_value() == SECRET.get_secret_value()
    rotated = both.rotate(token)
    assert KeyRing([new]).decrypt(rotated).get_secret_value() == SECRET.get_secret_value()
    with pytest.raises(KeyRingError, match="cannot be decrypted"):
        KeyRing([new]).decrypt(token)


def test_bad_key_is_named_by_position() -> None:
    with pytest.raises(KeyRingError, match="key #2"):
        KeyRing.from_env_value(f"{KeyRing.generate_key()},not-a-key")


def test_empty_setting_is_refused() -> None:
    with pytest.raises(KeyRingError, match="no encryption key"):
        KeyRing.from_env_value(" , ")


def test_local_key_file_is_created_0600_with_a_warning_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "data" / "deploybot.key"
    with caplog.at_level(logging.WARNING):
        ring = KeyRing.load(None, sqlite=True, key_file=key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generated a local encryption key" in caplog.text
    token = ring.encrypt(SECRET)
    again = KeyRing.load(None, sqlite=True, key_file=key_file)
    assert again.decrypt(token).get_secret_value() == SECRET.get_secret_value()


def test_non_sqlite_requires_the_environment_variable(tmp_path: Path) -> None:
    with pytest.raises(KeyRingError, match="must be set when DATABASE_URL is not SQLite"):
        KeyRing.load(None, sqlite=False, key_file=tmp_path / "k")
    assert not (tmp_path / "k").exists()


def test_configured_keys_win_over_the_file(tmp_path: Path) -> None:
    key = KeyRing.generate_key()
    ring = KeyRing.load(SecretStr(key), sqlite=True, key_file=tmp_path / "k")
    assert not (tmp_path / "k").exists()
    assert KeyRing([key]).decrypt(ring.encrypt(SECRET)).get_secret_value()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("nos_live_0123456789abcdef", "…cdef"), ("short", "…••••"), ("", "…")],
)
def test_mask(value: str, expected: str) -> None:
    assert mask(SecretStr(value)) == expected
