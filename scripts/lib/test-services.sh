#!/usr/bin/env bash
# Installs the Debian packages whose programs the tests start themselves (each test starts
# and stops its own instance on a free loopback port). Nothing is left running.
set -euo pipefail

# program (or file) -> Debian package, for each server or build dependency the tests need.
declare -A NEEDED=(
    [mosquitto]=mosquitto                                  # MQTT broker
    [victoria-metrics]=victoria-metrics                    # speaks the InfluxDB write API
    [dbus-daemon]=dbus-daemon                              # private bus for the fake BlueZ
    [pkg-config]=pkg-config
    [/usr/include/dbus-1.0/dbus/dbus.h]=libdbus-1-dev      # to build dbus-python
    [/usr/include/glib-2.0/glib.h]=libglib2.0-dev
    [mkfs.ext4]=e2fsprogs                                  # the read-only file system test
    [chromium]=chromium                                    # the dashboard's browser tests
    [chromedriver]=chromium-driver
)

missing=()
for program in "${!NEEDED[@]}"; do
    if [[ "$program" == /* ]]; then
        [ -e "$program" ] || missing+=("${NEEDED[$program]}")
    else
        command -v "$program" >/dev/null 2>&1 || missing+=("${NEEDED[$program]}")
    fi
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
