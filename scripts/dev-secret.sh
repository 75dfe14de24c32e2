#!/usr/bin/env bash
# Prints a secret of local runs, making it on first use under .local/ (git-ignored),
# readable by its owner only: `jwt-secret` (the default: 32 random bytes in hex) or
# `personal-data-key` (32 random bytes in base64, as PERSONAL_DATA_KEY takes them).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-jwt-secret}
file=.local/$name
if [[ ! -s $file ]]; then
    mkdir -p .local
    case $name in
        jwt-secret) (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$file") ;;
        personal-data-key) (umask 077 && head -c32 /dev/urandom | base64 | tr -d '\n' > "$file") ;;
        *) echo "dev-secret.sh: unknown secret $name" >&2; exit 2 ;;
    esac
fi
cat "$file"
