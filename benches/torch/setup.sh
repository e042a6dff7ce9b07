#!/usr/bin/env bash
# Creates the virtualenv of the PyTorch and NumPy training benchmarks,
# target/torch-venv at the root of the repository (ignored by git), and
# installs the pinned packages of requirements.txt from PyPI into it.
#
# Usage: bash benches/torch/setup.sh   (PYTHON=python3.11 by default)
# Then:  target/torch-venv/bin/python benches/torch/spiral_torch.py
#        target/torch-venv/bin/python benches/torch/digits_torch.py
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/torch-venv"
python="${PYTHON:-python3.11}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" -c 'import platform, numpy, torch; print(f"{platform.python_implementation()} {platform.python_version()}, torch {torch.__version__}, numpy {numpy.__version__}, in '"$venv"'")'
