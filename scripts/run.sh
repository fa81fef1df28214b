#!/usr/bin/env bash
# The last step of `make run`: Procfile.dev's processes under honcho, in the
# foreground until Ctrl-C. PostgreSQL and Redis are not stopped afterwards:
# they are system services (scripts/ensure-services.sh may have started them,
# or they were already running for something else), so they are left running
# and the exit message says so. bash, not sh: its EXIT trap also runs when
# Ctrl-C ends the script.
set -u

echo "make run: web, beat, dispatch, worker and checks on http://127.0.0.1:8000 (Ctrl-C stops them)."

left_running() {
  echo
  echo "make run: web, beat and the workers have stopped. PostgreSQL and Redis are left running;"
  echo "make run: stop them as you manage them, e.g. 'sudo pg_ctlcluster <version> main stop'"
  echo "make run: and 'redis-cli -p 6379 shutdown' (or 'sudo systemctl stop postgresql redis-server')."
}
trap left_running EXIT

honcho -f Procfile.dev start
