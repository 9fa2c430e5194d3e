#!/usr/bin/env bash
# Install headless Chromium from Debian packages for the browser test (tests/browser/), only where missing.
# Uses apt-get only: no browser downloads from elsewhere (never `playwright install`).
# Runs as root (CI); otherwise uses sudo when available.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  echo ">> chromium already installed: $(chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
sudo=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-chromium.sh: need root (or sudo) to apt-get install chromium" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo ">> apt-get install chromium"
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
echo ">> installed: $(chromium --version)"
