#!/usr/bin/env bash
# Install everything, train SimCLR on Fashion-MNIST for a few minutes, print the evaluation table.
# Extra arguments go to `contrastkit train` (e.g. --max-time 10m).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec contrastkit train --config simclr_fashion_mnist --max-time 3m "$@"
