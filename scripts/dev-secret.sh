#!/usr/bin/env bash
# Prints the JWT secret of local runs, making it on first use: 32 random bytes in
# hex under .local/ (git-ignored), readable by its owner only.
set -euo pipefail
cd "$(dirname "$0")/.."
file=.local/jwt-secret
if [[ ! -s $file ]]; then
    mkdir -p .local
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$file")
fi
cat "$file"
