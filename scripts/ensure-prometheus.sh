#!/usr/bin/env bash
# Make sure the `prometheus` and `promtool` binaries are installed (Debian package, apt-get).
# launchdeck's tests and `make demo` start their own servers (free ports, their own data);
# the package's system service is not wanted, and nothing is left listening on 9090.
set -euo pipefail

# Prometheus: the reliability tests start their own servers (free ports, their own data) from
# the `prometheus` and `promtool` binaries. The package's system service is not wanted.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  echo "Prometheus is not installed: installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    # Exit 101 tells the package's postinst (invoke-rc.d, deb-systemd-invoke) not to start it.
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  # No recommends: they would bring (and start) prometheus-node-exporter.
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ -n "${own_policy:-}" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
  # Should the service have started anyway, stop it: nothing of ours may listen on 9090.
  if [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  if [ -x /etc/init.d/prometheus ] && /etc/init.d/prometheus status >/dev/null 2>&1; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi

