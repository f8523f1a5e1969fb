#!/usr/bin/env bash
# Make sure the `prometheus`, `promtool`, `prometheus-alertmanager` and `nginx` binaries are
# installed (Debian packages, apt-get). launchdeck's tests and `make demo` start their own servers (free
# ports, their own data); the packages' system services are not wanted, and nothing is left
# listening on 9090 or 9093.
set -euo pipefail

updated=
# Install Debian package $1 without starting (or keeping) its system service $2.
install_without_service() {
  local package=$1 service=$2 policy=/usr/sbin/policy-rc.d own_policy=
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -e "$policy" ]; then
    # Exit 101 tells the package's postinst (invoke-rc.d, deb-systemd-invoke) not to start it.
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
    trap "rm -f '$policy'" EXIT
  fi
  if [ -z "$updated" ]; then
    apt-get update -qq
    updated=1
  fi
  # No recommends: they would bring (and start) prometheus-node-exporter.
  apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  if [ -n "$own_policy" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
  # Should the service have started anyway, stop it: nothing of ours may listen on its port.
  if [ -d /run/systemd/system ]; then
    systemctl disable --now "$service" >/dev/null 2>&1 || true
  fi
  if [ -x "/etc/init.d/$service" ] && "/etc/init.d/$service" status >/dev/null 2>&1; then
    "/etc/init.d/$service" stop >/dev/null 2>&1 || true
  fi
}

# Prometheus: the reliability tests start their own servers from `prometheus` and `promtool`.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  echo "Prometheus is not installed: installing it with apt-get" >&2
  install_without_service prometheus prometheus
fi

# nginx: the rollout tests and `make demo` run their own (launchdeck's nginx-static target).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "nginx is not installed: installing it with apt-get" >&2
  install_without_service nginx nginx
fi

# Alertmanager: the incidents tests send Prometheus's alerts through a real one to the API.
if [ ! -x /usr/bin/prometheus-alertmanager ]; then
  echo "Alertmanager is not installed: installing it with apt-get" >&2
  install_without_service prometheus-alertmanager prometheus-alertmanager
fi
