#!/usr/bin/env bash
# Installs the Debian packages whose programs the tests start themselves (each test starts
# and stops its own instance on a free loopback port). Nothing is left running.
set -euo pipefail

# program -> Debian package, for each server the tests run. The foundation's tests need
# none (SQLite comes with Python); brokers and databases are added here with their tests.
declare -A NEEDED=()

missing=()
for program in "${!NEEDED[@]}"; do
    command -v "$program" >/dev/null 2>&1 || missing+=("${NEEDED[$program]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "tests need these Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
fi
echo "==> installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
