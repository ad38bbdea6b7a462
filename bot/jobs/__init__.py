"""Durable work: everything that runs after Slack has its ack is a job row first.

``queue`` writes jobs (batched, before the ack), ``worker`` claims and runs them under a
heartbeat lease, ``journal`` records each non-idempotent provider call before it is sent, and
``reconcile`` decides — from the provider's state — what a job taken over from a dead worker
did. See the README's "Durable work" section for why this is not a library.
"""
