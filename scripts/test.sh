#!/usr/bin/env bash
# Install everything, then run the test suite (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Text tests read model folders from disk only: forbid any Hugging Face hub access.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python3 -m pytest -q "$@"
