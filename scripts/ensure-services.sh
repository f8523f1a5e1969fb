#!/usr/bin/env bash
# Make sure what the integration tests need is running: PostgreSQL on 127.0.0.1:5432 with
# trust auth and a database `test` (override with LAUNCHDECK_TEST_POSTGRES_URL).
# Uses the server the machine has; starts it if stopped; installs it with apt-get if absent.
# Installs the `prometheus` and `promtool` binaries the same way (the tests run their own).
set -euo pipefail

pg_ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; }

bash "$(dirname "$0")/ensure-prometheus.sh"

if [ -n "${LAUNCHDECK_TEST_POSTGRES_URL:-}" ]; then
  exit 0
fi
if ! pg_ready; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed: installing it with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q "launchdeck-tests" "$hba"; then
    # Trust loopback connections, as the development machines do (tests only).
    sed -i '1i host all all 127.0.0.1/32 trust # launchdeck-tests\nhost all all ::1/128 trust # launchdeck-tests' "$hba"
  fi
  echo "starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
if ! pg_ready; then
  echo "error: PostgreSQL is not answering on 127.0.0.1:5432" >&2
  exit 1
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test"
fi
