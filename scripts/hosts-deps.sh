#!/usr/bin/env bash
# The hosts tier's tools (DESIGN §5b): installed from Debian's registry when
# this runs as root on a Debian-like machine and any is missing. Elsewhere
# the hosts tests skip themselves and say why.
set -euo pipefail
packages=(debootstrap systemd-container iptables apt-cacher-ng git util-linux iproute2 haproxy)
tools=(debootstrap systemd-nspawn iptables apt-cacher-ng git nsenter losetup ip haproxy)
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || exit 0
for tool in "${tools[@]}"; do
  if ! command -v "$tool" >/dev/null; then
    echo "hosts tier: installing ${packages[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${packages[@]}" >/dev/null
    break
  fi
done
