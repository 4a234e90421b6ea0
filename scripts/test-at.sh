#!/usr/bin/env bash
# The suites that must pass whatever the date (unit, integration, command line) with the machine's
# clock moved to DATE (UTC, "YYYY-MM-DD HH:MM:SS"), under Debian's libfaketime: every process started
# by the tests (the `yunque` command, servers) sees the same moved clock, which keeps running.
# Usage: scripts/test-at.sh '2027-01-04 02:00:00' [pytest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
at="$1"
shift
lib=$(dpkg -L libfaketime | grep -m1 'libfaketimeMT\.so\.1$')
echo "== tests/unit tests/integration tests/cli with the clock at $at UTC"
# bench/shifted_clock: timed waits on locks poll instead of waiting for a moved absolute time
TZ=UTC LD_PRELOAD="$lib" FAKETIME="@$at" FAKETIME_DONT_RESET=1 PYTHONPATH="$PWD/bench/shifted_clock" \
  .venv/bin/python -m pytest -p no:cacheprovider tests/unit tests/integration tests/cli "$@"
