#!/usr/bin/env bash
# Everything Yunque needs on a fresh Debian machine: system packages, then a virtualenv.
# Idempotent: re-running installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(chromium chromium-driver poppler-utils fonts-droid-fallback fonts-dejavu-core fonts-noto-cjk zbar-tools libfaketime)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Yunque needs Python 3.11 or newer"'
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.yunque-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
# the documents' working faces, cut once per machine into ~/.cache/yunque/fonts (adapters/pdf.py)
.venv/bin/python -c 'from adapters.pdf import working_faces; working_faces()' \
  || echo "no working faces cut (is ~/.cache writable?): documents are set in the whole faces, more slowly"
# The project's modules compiled once: the environment may forbid Python to write bytecode as it
# imports (PYTHONDONTWRITEBYTECODE), and then every process the product or the tests start (the
# command, the stack's parts, the app) compiled them again: 0.5-0.9 s a process, 11% of the command
# line suite's time. A module changed since is compiled again on import, as always.
.venv/bin/python -m compileall -q -j 0 adapters bench flows migrations models services tests ui yunque >/dev/null
