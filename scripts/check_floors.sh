#!/usr/bin/env bash
# Check the dependency floors: install the OLDEST versions pyproject.toml allows of torch,
# torchvision, numpy, transformers and tokenizers (the other dependencies resolve as pip
# chooses) into a fresh virtual environment, then run the tests that exercise them and a
# 20-step training from a packaged recipe.
#   bash scripts/check_floors.sh            # venv in a temporary folder
#   VENV=/tmp/floors bash scripts/check_floors.sh
# Needs a package index (torch 2.4 from PyPI pulls its CUDA 12 libraries, a few GB) and
# Fashion-MNIST (scripts/setup.sh installs it). Intended as a separate CI job.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-$(mktemp -d)/floors}
mkdir -p "$(dirname "$VENV")"
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

constraints="$VENV.constraints.txt"
"$PY" - "$constraints" <<'EOF'
"""Write name==floor for the packages whose floors are checked, read from pyproject.toml."""
import re
import sys
import tomllib

CHECKED = {"torch", "torchvision", "numpy", "transformers", "tokenizers"}
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
specs = list(project["dependencies"]) + list(project["optional-dependencies"]["text"])
pins = []
for spec in specs:
    m = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", spec)
    if m and m.group(1).lower() in CHECKED:
        pins.append(f"{m.group(1)}=={m.group(2)}")
if {p.split("==")[0].lower() for p in pins} != CHECKED:
    sys.exit(f"check_floors: expected floors for {sorted(CHECKED)}, found {pins}")
open(sys.argv[1], "w").write("\n".join(pins) + "\n")
print("check_floors: pins", " ".join(pins))
EOF

"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -c "$constraints" ".[text]" pytest pytest-timeout
"$VENV/bin/python" -c "import torch, torchvision, numpy, transformers; print('check_floors: torch', torch.__version__, 'torchvision', torchvision.__version__, 'numpy', numpy.__version__, 'transformers', transformers.__version__)"

# from a scratch folder, so the installed package (not this checkout) is imported
work=$(mktemp -d)
cp -r tests "$work/tests"
cd "$work"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not distributed" \
  tests/losses/test_info_nce.py tests/losses/test_barlow_twins.py tests/train/test_optim.py \
  tests/train/test_guards.py tests/test_recipes.py tests/test_config.py \
  tests/encoders/test_text_encoder.py tests/encoders/test_minilm.py tests/test_extras.py
"$VENV/bin/contrastkit" train --config simclr_fashion_mnist --steps 20 --batch-size 32 \
  --device cpu --no-evaluate --no-progress -o "$work/run"
echo "check_floors: passed"
