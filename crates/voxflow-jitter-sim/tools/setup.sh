#!/usr/bin/env bash
# Creates (or reuses) the Python venv for the jitter-sim tools at <repo>/target/pesq-venv and
# installs the pinned packages of requirements.txt plus `pesq` (ITU-T P.862 C code wrapped for
# Python; an sdist compiled here with the C compiler).
#
# Debian packages it needs: python3 python3-venv python3-dev build-essential
# (python3-venv for `python3 -m venv`, python3-dev for Python.h, build-essential for gcc).
# Idempotent: a venv whose stamp matches requirements.txt is left alone.
# Environment: PYTHON (default python3) chooses the interpreter; PESQ_VENV overrides the path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${PESQ_VENV:-$repo/target/pesq-venv}"
py="${PYTHON:-python3}"
pesq_version="0.0.4"
stamp="$venv/.voxflow-tools-stamp"
want="$(cat "$here/requirements.txt"; echo "pesq==$pesq_version")"

say() { echo "setup.sh: $*" >&2; }

if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import numpy, scipy, pesq' 2>/dev/null; then
    say "venv $venv is up to date (pesq $pesq_version); nothing to do"
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    say "creating venv $venv with $($py --version 2>&1) ($(command -v "$py"))"
    mkdir -p "$(dirname "$venv")"
    "$py" -m venv "$venv"
else
    say "reusing venv $venv"
fi

vpy="$venv/bin/python"
say "installing pinned packages from $here/requirements.txt"
"$vpy" -m pip install --disable-pip-version-check --quiet -r "$here/requirements.txt"
# pesq has no pyproject.toml; building it without isolation compiles it against the pinned numpy
# and Cython already in the venv (its setup_requires are satisfied by them).
say "building and installing pesq==$pesq_version from source (C compiler)"
"$vpy" -m pip install --disable-pip-version-check --quiet --no-build-isolation \
    "pesq==$pesq_version"
"$vpy" -c 'import numpy, scipy, pesq; print("setup.sh: ok: numpy", numpy.__version__, "scipy", scipy.__version__, "pesq", "'"$pesq_version"'")' >&2
printf '%s' "$want" > "$stamp"
