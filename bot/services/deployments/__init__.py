"""The deployment service and the names its callers use.

Modules, one job each: ``model`` (Actor, Resolved…), ``accounts`` (connected providers and
keys), ``resolve`` (which deployment a reference means), ``listing`` (`/deploy list` pages),
``catalog`` (markets, nodes, balance), ``reads`` (show/logs/events/jobs), ``changes`` (state
checks, provider calls, chains), ``answers`` (failures as replies), ``service`` (the facade).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.deployments.answers import error_reply, pick_reply
from bot.services.deployments.changes import state_problem
from bot.services.deployments.listing import HIDDEN_BY_DEFAULT, LIST_PAGE_SIZE, MAX_PAGE_READS
from bot.services.deployments.model import (
    Actor,
    ChangeRecorder,
    Progress,
    Resolved,
    RevisionForm,
)
from bot.services.deployments.reads import DEFAULT_TAIL
from bot.services.deployments.service import DeploymentService

__all__: Sequence[str] = (
    "DEFAULT_TAIL",
    "HIDDEN_BY_DEFAULT",
    "LIST_PAGE_SIZE",
    "MAX_PAGE_READS",
    "Actor",
    "ChangeRecorder",
    "DeploymentService",
    "Progress",
    "Resolved",
    "RevisionForm",
    "error_reply",
    "pick_reply",
    "state_problem",
)
