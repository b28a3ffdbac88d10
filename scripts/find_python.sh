#!/bin/sh
# Prints the path of a working Python >= 3.12, or explains what is missing.
# pyenv shims exist for versions that are not selected and fail when run,
# so every candidate is executed, not just looked up.
for candidate in python3.14 python3.13 python3.12 python3 \
    "$(pyenv root 2>/dev/null)"/versions/3.1[2-9]*/bin/python3 \
    "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if "$path" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
        echo "$path"
        exit 0
    fi
done
echo "error: no Python >= 3.12 found (tried python3.14, python3.13, python3.12, python3 and pyenv versions)." >&2
echo "Install one (e.g. 'apt-get install python3.12' or 'pyenv install 3.12') and run make again." >&2
exit 1
