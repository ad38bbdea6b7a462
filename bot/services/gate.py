"""The policy gate, by its old name: the pipeline (:mod:`bot.services.pipeline`) is the one
road every operation takes; ``DeployBot.gate`` is that pipeline."""

from bot.services.pipeline import Pipeline as Gate

__all__ = ["Gate"]
