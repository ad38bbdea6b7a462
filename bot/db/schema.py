"""The complete schema Alembic owns: deploybot's tables plus slack_sdk's OAuth store tables."""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

from bot.db.models import Base

SLACK_INSTALLATIONS = "slack_installations"
SLACK_BOTS = "slack_bots"
SLACK_OAUTH_STATES = "slack_oauth_states"


def _slack_metadata() -> MetaData:
    metadata = MetaData()
    AsyncSQLAlchemyInstallationStore.build_installations_table(metadata, SLACK_INSTALLATIONS)
    AsyncSQLAlchemyInstallationStore.build_bots_table(metadata, SLACK_BOTS)
    AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, SLACK_OAUTH_STATES)
    return metadata


#: Both metadata objects, for Alembic's ``target_metadata``.
target_metadata = [Base.metadata, _slack_metadata()]
