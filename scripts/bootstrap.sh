#!/usr/bin/env bash
# Create .venv and install popvim (with the test tools) into it, once per
# change of pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ -f "$stamp" ]; then
    exit 0
fi
echo "bootstrap: creating .venv and installing popvim" >&2
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >&2
.venv/bin/pip install -q -e '.[dev]' >&2
rm -f .venv/.installed-*
touch "$stamp"
