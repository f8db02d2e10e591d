#!/usr/bin/env bash
# Start popvimd on its embedded defaults: installs what is missing (venv,
# Docker engine), starts dockerd when it is not running, then runs the daemon
# in the foreground. Arguments go to popvimd (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure-docker.sh
exec .venv/bin/popvimd "$@"
