# Sourced by scripts/serve and scripts/test: create .venv and install the project when
# pyproject.toml changed since the last install (fast no-op otherwise).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1)-${1:-base}"
if [ "$(cat .venv/.install-stamp 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check ".[dev]"
  echo "$want" > .venv/.install-stamp
fi
