#!/usr/bin/env bash
# Install everything contrastkit needs on a fresh Debian/Ubuntu machine:
# the Debian package with Fashion-MNIST, PyTorch (CPU-capable build), and contrastkit itself.
# Idempotent: what is already installed is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "setup: installing Debian package dataset-fashion-mnist"
  $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || {
    $SUDO apt-get update -q -o Acquire::Languages=en >/dev/null
    $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null
  }
fi

if [ ! -f /usr/share/wordnet/data.noun ]; then
  echo "setup: installing Debian package wordnet-base (text views and the WordNet task)"
  $SUDO apt-get install -y -q wordnet-base >/dev/null 2>&1 || {
    $SUDO apt-get update -q -o Acquire::Languages=en >/dev/null
    $SUDO apt-get install -y -q wordnet-base >/dev/null
  }
fi

if [ -z "$(apt-get indextargets -o Acquire::Languages=en --format '$(FILENAME)' 'Identifier: Translations' 2>/dev/null)" ]; then
  echo "setup: fetching apt's English package descriptions (text benchmark and tests)"
  $SUDO apt-get update -q -o Acquire::Languages=en >/dev/null
fi

# Data for the other modalities: General MIDI soundfont + fluidsynth (audio notes), Noto
# Color Emoji + unicode-data (image-text pairs); the package graph comes from apt itself.
missing=""
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing="$missing fluid-soundfont-gm"
command -v fluidsynth >/dev/null 2>&1 || missing="$missing fluidsynth"
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$missing fonts-noto-color-emoji"
[ -f /usr/share/unicode/emoji/emoji-test.txt ] || missing="$missing unicode-data"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages$missing (audio and image-text data, the report test browser)"
  $SUDO apt-get install -y -q $missing >/dev/null 2>&1 || {
    $SUDO apt-get update -q -o Acquire::Languages=en >/dev/null
    $SUDO apt-get install -y -q $missing >/dev/null
  }
fi

# Evaluation image sets nothing was tuned on (contrastkit.data.eval_sets, benchmarks/defaults.py):
# display fonts (letters), Tux Paint stamps, the MATE icon theme (Debian) and Twemoji (npm).
missing=""
[ -d /usr/share/fonts/truetype/aenigma ] || missing="$missing fonts-aenigma"
[ -d /usr/share/tuxpaint/stamps ] || missing="$missing tuxpaint-stamps-default"
[ -d /usr/share/icons/mate/32x32 ] || missing="$missing mate-icon-theme"
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages$missing (evaluation image sets)"
  $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
    $SUDO apt-get update -q -o Acquire::Languages=en >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
  }
fi
if ! [ -f "$(npm root -g 2>/dev/null)/emoji-datasource-twitter/emoji.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing Debian package npm (for the Twemoji evaluation set)"
    $SUDO apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1 || {
      $SUDO apt-get update -q -o Acquire::Languages=en >/dev/null
      $SUDO apt-get install -y -q --no-install-recommends npm >/dev/null
    }
  fi
  echo "setup: installing npm package emoji-datasource-twitter (Twemoji evaluation set)"
  $SUDO npm install -g -q --no-audit --no-fund emoji-datasource-twitter@16.0.0 >/dev/null
fi

# torch first, pinned: an unpinned 'torch' can pull a multi-GB build on some machines.
if ! $PY -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "setup: installing torch and torchvision"
  $PY -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
fi
echo "setup: installing contrastkit with its test extras"
$PY -m pip install -q -e ".[dev]"
