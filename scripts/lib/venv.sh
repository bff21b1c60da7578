# Sourced by scripts/run and scripts/test: make .venv and install the project into it.
# ensure_venv [EXTRAS]  -- reinstalls only when pyproject.toml or the extras changed.

ensure_venv() {
    local extras="${1:-}" python="${PYTHON:-python3}" spec="." stamp
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "hub needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)" >&2
        return 1
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "==> creating .venv"
        "$python" -m venv .venv
    fi
    [ -n "$extras" ] && spec=".[$extras]"
    stamp="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
    if [ "$(cat .venv/.hub-installed 2>/dev/null)" != "$stamp" ]; then
        echo "==> installing hub${extras:+ with $extras extras} into .venv"
        # The build backend's chatter goes to a log, shown only if the install fails.
        if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" \
                > .venv/install.log 2>&1; then
            cat .venv/install.log >&2
            echo "installing hub failed (the output above is in .venv/install.log)" >&2
            return 1
        fi
        echo "$stamp" > .venv/.hub-installed
    fi
}
