"""Creating deployments (see :mod:`bot.services.create.service`).

Modules: ``base`` (shared state, the request row, catalogs), ``service`` (the form, its review
and the create), ``leasing`` (Akash bids and leases, following a new deployment), ``templates``
(saved forms, approval summaries), ``status_message`` (rendering the status message).
"""

from bot.services.create.base import Publisher, Review
from bot.services.create.service import CreateService

__all__ = ["CreateService", "Publisher", "Review"]
