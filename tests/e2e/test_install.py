"""scripts/install and scripts/uninstall, run for real into a staging root (--root DIR).

The machine itself is left alone: the `hub` user and the groups are created in DIR/etc with
the shadow tools' --prefix, the venv is built under DIR/opt/hub, and the service is enabled
with `systemctl --root=DIR`. What cannot be shown here (no systemd as PID 1): that
`systemctl enable --now` starts the service on a real system.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, check=False
    )


def entry(path: Path, name: str) -> list[str] | None:
    for line in path.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("the install scripts need root")
    for tool in ("useradd", "groupadd", "usermod", "userdel"):
        if shutil.which(tool) is None:
            pytest.skip(f"no {tool} here")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        if Path("/etc", name).exists():
            shutil.copy2(Path("/etc", name), root / "etc" / name)
    return root


def test_install_upgrade_uninstall_and_purge(staging: Path) -> None:
    python = Path(sys.base_prefix) / "bin" / "python3"
    host = {name: Path("/etc", name).read_bytes() for name in ("passwd", "group")}
    install = run(ROOT / "scripts" / "install", "--root", staging, "--python", python)
    assert install.returncode == 0, install.stdout + install.stderr
    assert "hub 0.1.0" in install.stdout

    hub = staging / "opt/hub/.venv/bin/hub"
    assert run(hub, "--version").stdout.strip() == "hub 0.1.0"
    user = entry(staging / "etc/passwd", "hub")
    assert user is not None
    assert user[5:] == ["/var/lib/hub", "/usr/sbin/nologin"]
    bluetooth = entry(staging / "etc/group", "bluetooth")
    assert bluetooth is not None
    assert "hub" in bluetooth[3].split(",")
    group = entry(staging / "etc/group", "hub")
    assert group is not None

    config = staging / "etc/hub/hub.yaml"
    info = config.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert (info.st_uid, info.st_gid) == (0, int(group[2]))
    assert config.read_text() == (ROOT / "config/hub.yaml").read_text()
    checked = run(hub, "check-config", config)
    assert checked.returncode == 0, checked.stderr
    data = (staging / "var/lib/hub").stat()
    assert (data.st_uid, data.st_gid) == (int(user[2]), int(group[2]))
    assert stat.S_IMODE(data.st_mode) == 0o750

    unit = staging / "etc/systemd/system/hub.service"
    assert unit.read_text() == (ROOT / "hub.service").read_text()
    wanted = staging / "etc/systemd/system/multi-user.target.wants/hub.service"
    if shutil.which("systemctl"):
        assert wanted.is_symlink()
        assert os.readlink(wanted) == "/etc/systemd/system/hub.service"

    # Again: an upgrade that keeps the user's config.
    config.write_text(config.read_text() + "# edited by the user\n")
    again = run(ROOT / "scripts" / "install", "--root", staging, "--python", python)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "keeping the existing /etc/hub/hub.yaml" in again.stdout
    assert config.read_text().endswith("# edited by the user\n")
    assert entry(staging / "etc/passwd", "hub") == user

    (staging / "var/lib/hub/hub.db").write_bytes(b"precious")
    removed = run(ROOT / "scripts" / "uninstall", "--root", staging)
    assert removed.returncode == 0, removed.stderr
    assert not (staging / "opt/hub").exists()
    assert not unit.exists()
    assert not wanted.exists()
    assert (staging / "var/lib/hub/hub.db").read_bytes() == b"precious"
    assert config.exists()
    assert entry(staging / "etc/passwd", "hub") is not None

    purged = run(ROOT / "scripts" / "uninstall", "--root", staging, "--purge")
    assert purged.returncode == 0, purged.stderr
    assert not (staging / "var/lib/hub").exists()
    assert not (staging / "etc/hub").exists()
    assert entry(staging / "etc/passwd", "hub") is None
    assert entry(staging / "etc/group", "hub") is None
    assert {name: Path("/etc", name).read_bytes() for name in host} == host, "host untouched"


def test_install_refuses_without_root_or_with_a_bad_option(tmp_path: Path) -> None:
    result = run(ROOT / "scripts" / "install", "--frobnicate")
    assert result.returncode == 1
    assert "unknown option --frobnicate" in result.stderr
    if os.geteuid() == 0:
        # A copy in a directory anyone may enter: the checkout itself may sit in a 0700 one.
        public = Path(tempfile.mkdtemp())
        public.chmod(0o755)
        script = public / "install"
        shutil.copy2(ROOT / "scripts" / "install", script)
        script.chmod(0o755)
        nobody = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(script)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(public)
        assert nobody.returncode == 1
        assert "run as root" in nobody.stderr
