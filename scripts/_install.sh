# Sourced by scripts/serve and scripts/test: create .venv and install the pinned packages of
# requirements.lock (from the package index) when the lock changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '==> %s\n' "$*" >&2; }
if [ ! -x .venv/bin/python ]; then
  step "Creating the virtualenv .venv with ${PYTHON:-python3} ($("${PYTHON:-python3}" --version 2>&1))"
  "${PYTHON:-python3}" -m venv .venv
fi
want="$(sha256sum requirements.lock | cut -d' ' -f1)-$(.venv/bin/python -c 'import sys; print(sys.version_info[:2])')"
if [ "$(cat .venv/.install-stamp 2>/dev/null)" != "$want" ]; then
  step "Installing the pinned Python packages of requirements.lock from PyPI (about 130; a minute or two the first time)"
  set +eo pipefail
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off --require-hashes \
    -r requirements.lock 2>&1 | tee .venv/pip-install.log | grep --line-buffered -E '^(Collecting|Successfully)' >&2
  status=${PIPESTATUS[0]}
  set -eo pipefail
  if [ "$status" -ne 0 ]; then tail -n 30 .venv/pip-install.log >&2; step "pip install failed (log: .venv/pip-install.log)"; exit "$status"; fi
  echo "$want" > .venv/.install-stamp
  step "Python packages installed"
fi
