"""Slack listeners, one module per Slack surface (commands, actions, views, events)."""
