"""deploybot: Slack chat-ops for GPU/container deployments on decentralized compute networks."""

__version__ = "0.1.0"
