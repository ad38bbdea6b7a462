#!/usr/bin/env bash
# Make sure the local PostgreSQL server (127.0.0.1:5432) is up for the tests that need it.
# Starts the Debian cluster when it is installed but stopped. Under CI=true, failing to get
# a server is an error; elsewhere it is a warning (those tests then report it themselves).
set -u
host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null || (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if ready; then
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do
    ready && exit 0
    sleep 1
  done
fi
if [ "${CI:-}" = "true" ]; then
  echo "ensure-postgres: PostgreSQL is not reachable on $host:$port and could not be started" >&2
  exit 1
fi
echo "ensure-postgres: warning: PostgreSQL is not reachable on $host:$port" >&2
exit 0
