#!/usr/bin/env bash
# Install everything, then run the test suite (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Text tests read model folders from disk only: forbid any Hugging Face hub access.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Two worker processes (pytest-xdist) share the tests; PYTEST_WORKERS=0 runs them in one.
exec python3 -m pytest -q -n "${PYTEST_WORKERS:-2}" --durations=25 "$@"
