#!/usr/bin/env bash
# Start PostgreSQL and Redis when this machine has them but they are down.
set -uo pipefail
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
      || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""
    sleep 0.5
  else
    echo "Redis is not running on 127.0.0.1:6379 and redis-server is not installed" >&2
  fi
fi
if [ -n "${NEED_POSTGRES:-1}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    sleep 1
  fi
fi
exit 0
