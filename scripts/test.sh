#!/usr/bin/env bash
# Install everything, then run the test suite (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Text tests read model folders from disk only: forbid any Hugging Face hub access.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# One process by default: on 2 cores, two pytest-xdist workers (PYTEST_WORKERS=2) were
# slower, since the learning tests each use every core. The 25 slowest tests are printed.
exec python3 -m pytest -q -n "${PYTEST_WORKERS:-0}" --durations=25 "$@"
