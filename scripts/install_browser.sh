#!/usr/bin/env bash
# Install Debian's Chromium for the viewer's browser test (tests/viewer, marker `browser`).
# Runs as root in CI. Does nothing when /usr/bin/chromium is already there; never downloads a
# browser through Playwright.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
