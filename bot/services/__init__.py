"""Services: where an Operation meets the database and the providers (no Slack here)."""
