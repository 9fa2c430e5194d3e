#!/usr/bin/env bash
# Install the Debian packages the tests need, only where missing (idempotent, quiet):
#   chromium + fonts-liberation   headless browser for tests/browser/
#   postgresql                    initdb/postgres/pg_dump for tests/distributed/ (metadata database)
#   redis-server (+ redis-tools)  Celery broker for tests/distributed/, and redis-cli for its checks
#   tinyproxy                     a real HTTP proxy (CONNECT for https) for tests/proxy/
# Usage: scripts/install-system-packages.sh [chromium] [postgresql] [redis] [tinyproxy]   (no argument: all of them)
# Uses apt-get only (never downloads from elsewhere). Runs as root (CI); otherwise uses sudo when available.
# Nothing is started or enabled here: the tests run their own servers on 127.0.0.1 from temp directories.
set -euo pipefail
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(chromium postgresql redis tinyproxy)

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

missing=()
for what in "${wanted[@]}"; do
  case "$what" in
    chromium)
      if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
        echo ">> chromium already installed"
      else
        missing+=(chromium fonts-liberation)
      fi
      ;;
    postgresql)
      bin=$(pg_bin)
      if [ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_dump" ]; then
        echo ">> postgresql already installed ($bin)"
      else
        missing+=(postgresql)
      fi
      ;;
    redis)
      if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        echo ">> redis already installed ($(redis-server --version | cut -d' ' -f3))"
      else
        missing+=(redis-server redis-tools)
      fi
      ;;
    tinyproxy)
      if command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || [ -x /usr/sbin/tinyproxy ]; then
        echo ">> tinyproxy already installed"
      else
        missing+=(tinyproxy)
      fi
      ;;
    *) echo "install-system-packages.sh: unknown package group '$what'" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-system-packages.sh: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo ">> apt-get install ${missing[*]}"
$sudo apt-get update -qq
# policy-rc.d 101: the packages' services must not be started (no init here; the tests run their own).
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && made_policy=1
fi
status=0
out=$(mktemp)
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$out" 2>&1 || status=$?
[ -n "$made_policy" ] && $sudo rm -f "$policy"
if [ "$status" -ne 0 ]; then
  cat "$out" >&2; rm -f "$out"
  echo "install-system-packages.sh: apt-get install failed ($status)" >&2; exit "$status"
fi
rm -f "$out"
for what in "${wanted[@]}"; do
  case "$what" in
    chromium) echo ">> installed: $(chromium --version 2>/dev/null || echo chromium)" ;;
    postgresql) echo ">> installed: postgresql in $(pg_bin)" ;;
    redis) echo ">> installed: $(redis-server --version | cut -d' ' -f1-3)" ;;
    tinyproxy) echo ">> installed: $( (tinyproxy -v 2>&1 || /usr/sbin/tinyproxy -v 2>&1) | head -1)" ;;
  esac
done
