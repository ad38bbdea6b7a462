"""Local validation of a Nosana job definition (spec §7) and of cron schedules (§5.2).

Pure functions, no I/O. The verdicts follow the validator Nosana publishes in npm
``@nosana/types`` (``validateJobDefinition``), checked by
``tests/contract/test_nosana_jobdef_npm.py``; where the spec and the package differ the spec
wins (a ``"start-end"`` port range is allowed in ``expose``). The parts:

* ``problems``: the ``Problem`` record, the deployment manager's message formats, generic checks;
* ``definition``: top level, ``meta``, ``global``, ``logistics``, ops, results, execution;
* ``args``: ``container/run`` / ``container/create-volume`` args, volumes, restart policy;
* ``expose``: ports, ranges, placeholders, health checks; ``resources``: S3, HF, Ollama;
* ``cron``: ``schedule`` of SCHEDULED deployments.
"""

from __future__ import annotations

from bot.providers.nosana_jobdef.cron import CRON_PATTERN, cron_problem
from bot.providers.nosana_jobdef.definition import validate_job_definition
from bot.providers.nosana_jobdef.expose import exposed_ports, parse_port_range
from bot.providers.nosana_jobdef.problems import Problem, field_errors, typia_message

__all__ = [
    "CRON_PATTERN",
    "Problem",
    "cron_problem",
    "exposed_ports",
    "field_errors",
    "parse_port_range",
    "typia_message",
    "validate_job_definition",
]
