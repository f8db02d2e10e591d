#!/usr/bin/env bash
# Run the whole test suite against a real Docker engine: installs what is
# missing, starts dockerd when needed, builds the test images (cached by
# recipe), starts the loopback registry and PostgreSQL cluster the tests use,
# then runs pytest. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# quality gates first: they take seconds, the suite takes minutes
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy  # strict, on src/popvim (pyproject.toml)
scripts/ensure-chromium.sh  # the dashboard's browser test: Debian's chromium and chromedriver
images/build-all.sh >/dev/null
scripts/local-registry.sh start >/dev/null
scripts/postgres.sh start >/dev/null
exec .venv/bin/pytest "$@"
