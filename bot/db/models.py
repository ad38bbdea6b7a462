"""deploybot's own tables (Slack's installation/state tables belong to slack_sdk's stores)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ProviderKey(Base):
    """One workspace's API key for one provider, encrypted (Fernet token), never in plaintext."""

    __tablename__ = "provider_keys"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Empty string (not NULL) outside Enterprise Grid, so the unique constraint holds.
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    encrypted_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: The last characters of the key, for people to tell keys apart (``…abcd``).
    key_hint: Mapped[str] = mapped_column(String(16), nullable=False)
    connected_by: Mapped[str] = mapped_column(String(64), nullable=False)
    connected_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return (
            f"ProviderKey(team_id={self.team_id!r}, provider={self.provider!r}, "
            f"key_hint={self.key_hint!r})"
        )
