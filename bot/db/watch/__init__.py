"""The watcher's tables: watches, watched states and fingerprints, poll leases, who-changed-it
attributions, and the notification outbox (SQLAlchemy Core, SQLite and PostgreSQL)."""
