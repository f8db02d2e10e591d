#!/usr/bin/env bash
# Create .venv and install popvim (with the test tools) into it, once per
# change of pyproject.toml or constraints.txt. pyproject.toml declares
# compatible ranges (the client library must not pin its users);
# constraints.txt pins the exact set this project is tested with.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ -f "$stamp" ]; then
    exit 0
fi
echo "bootstrap: creating .venv and installing popvim" >&2
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >&2
.venv/bin/pip install -q -c constraints.txt -e '.[dev,postgres]' >&2
rm -f .venv/.installed-*
touch "$stamp"
