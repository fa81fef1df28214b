#!/usr/bin/env bash
# PostgreSQL and Redis on 127.0.0.1 (ports 5432 and 6379), which `make run` and
# `make test` need. Missing ones are installed from the distribution's packages
# when we are root; stopped ones are started. Otherwise it prints the exact
# command to run and fails, so the make target stops here with the reason.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_up() {
  for _ in $(seq 50); do
    up "$1" && return 0
    sleep 0.2
  done
  return 1
}

is_root() { [ "$(id -u)" = "0" ]; }

apt_install() {
  if is_root && command -v apt-get >/dev/null; then
    echo "Installing $* from the distribution's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
  elif command -v apt-get >/dev/null; then
    echo "Missing $*. Install and start it with 'sudo bash scripts/ensure-services.sh'" >&2
    echo "  (as root this script runs 'apt-get install -y $*' and sets it up)." >&2
    return 1
  else
    echo "Missing $*, and this is not a Debian or Ubuntu system: install $* with" >&2
    echo "  your system's package manager and start it on 127.0.0.1 (see below)." >&2
    return 1
  fi
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -1; }

# A fresh Debian cluster asks for a password on 127.0.0.1; the development
# and test URLs (postgres://postgres@127.0.0.1) connect without one. Only a
# cluster this script just installed is changed, and only for loopback.
trust_loopback() {
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  [ -f "$hba" ] || return 0
  grep -q "^# uptime: loopback trust" "$hba" && return 0
  {
    echo "# uptime: loopback trust for the postgres user (development and tests)"
    echo "host all postgres 127.0.0.1/32 trust"
    echo "host all postgres ::1/128 trust"
    cat "$hba"
  } >"$hba.new" && mv "$hba.new" "$hba"
}

ensure_redis() {
  up 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server || return 1
  # Started directly, not through systemd, so it also works in containers.
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
    || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
    || true
  wait_up 6379 && return 0
  echo "Redis did not start on 127.0.0.1:6379; start it with 'redis-server --daemonize yes --port 6379'" >&2
  return 1
}

ensure_postgres() {
  up 5432 && return 0
  local installed=""
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(pg_version)" ]; then
    apt_install postgresql || return 1
    installed=1
  fi
  local version
  version="$(pg_version)"
  if [ -n "$installed" ]; then
    trust_loopback "$version"
  fi
  if is_root && [ -n "$installed" ]; then
    # The package may have started it already, before the pg_hba.conf change.
    pg_ctlcluster --skip-systemctl-redirect "$version" main restart || true
  elif is_root; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  wait_up 5432 && return 0
  echo "PostgreSQL is not running on 127.0.0.1:5432; start it with 'sudo pg_ctlcluster $version main start'" >&2
  return 1
}

status=0
ensure_redis || status=1
ensure_postgres || status=1
if [ $status -ne 0 ]; then
  cat >&2 <<'EOF_NEEDS'

make run and make test need, on this machine:
  - Redis on 127.0.0.1:6379 (the Celery broker; any recent version);
  - PostgreSQL on 127.0.0.1:5432 with user postgres allowed in from 127.0.0.1
    without a password (the only database; make run creates uptime_dev).
On Debian or Ubuntu, 'sudo bash scripts/ensure-services.sh' installs, sets up
and starts both. To use servers elsewhere instead, set DATABASE_URL and
REDIS_URL (in the environment or .env) and run the commands under make run's
target in the Makefile yourself.
EOF_NEEDS
fi
exit $status
