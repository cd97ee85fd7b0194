"""Permission bits that really bind, for the tests of unreadable or unsearchable folders.

Tests run as root here, and root ignores permission bits. `as_bound_by_permissions(cmd)` runs cmd as the same user
without the capabilities that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a folder with mode 0o000 is
as closed to it as another user's 0700 folder is to anyone; where that cannot be arranged the test is skipped.

>>> folder.chmod(0o000)
>>> subprocess.run(as_bound_by_permissions([sys.executable, "-c", f"open('{folder}/x', 'w')"]))  # PermissionError
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

_BYPASSES = "-dac_override,-dac_read_search"


def as_bound_by_permissions(cmd: list[str]) -> list[str]:
    """cmd, prefixed with setpriv(1) dropping the permission-bypassing capabilities when this process is root."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv(1) is not installed: root cannot be made to respect permission bits")
    wrapped = ["setpriv", "--bounding-set", _BYPASSES, "--inh-caps", _BYPASSES, "--"]
    probe = subprocess.run([*wrapped, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"dropping capabilities is not permitted here (setpriv: {probe.stderr.strip()})")
    return [*wrapped, *cmd]
