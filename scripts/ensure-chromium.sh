#!/usr/bin/env bash
# Make sure the host has Debian's chromium and chromium-driver for the
# dashboard's browser test (tests/integration/test_dashboard.py). The test
# drives /usr/bin/chromium through /usr/bin/chromedriver; nothing downloads a
# browser of its own. Idempotent: does nothing when both are in place.
set -euo pipefail

log() { echo "ensure-chromium: $*" >&2; }

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    log "chromium and chromium-driver are missing and installing them needs root"
    exit 1
fi
log "installing chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
