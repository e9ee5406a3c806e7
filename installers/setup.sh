#!/usr/bin/env bash
# Set up AI Retouch in this checkout: system tools, a virtual environment, the vision models.
#   installers/setup.sh            set up, then nothing else
#   installers/setup.sh --test     set up (with test tools) and run the test suite
#   installers/setup.sh --serve    set up and start the bridge server on the built-in defaults
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
mode=${1:-}

need_apt=()
command -v exiftool >/dev/null 2>&1 || need_apt+=(libimage-exiftool-perl)
[ "$mode" = "--test" ] && ! command -v lua5.1 >/dev/null 2>&1 && need_apt+=(lua5.1)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "installing ${need_apt[*]} (apt)"
    $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install exiftool
  else
    echo "please install ExifTool (https://exiftool.org) and run this again" >&2; exit 1
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt)
"${PIP[@]}" torch==2.13.0
if [ "$mode" = "--test" ]; then "${PIP[@]}" -e ".[test]"; else "${PIP[@]}" -e .; fi

if [ "$mode" = "--test" ]; then
  # Tests share one read-only copy of the models in the checkout (.models/, never committed).
  export AIRETOUCH_MODELS_DIR="${AIRETOUCH_MODELS_DIR:-$ROOT/.models}"
fi
.venv/bin/airetouch models --fetch

case "$mode" in
  --test)  shift; exec .venv/bin/python -m pytest "$@" ;;
  --serve) exec .venv/bin/airetouch serve ;;
  "")      echo "set up: run .venv/bin/airetouch --help" ;;
  *)       echo "unknown option $mode (use --test or --serve)" >&2; exit 2 ;;
esac
