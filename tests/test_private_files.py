"""The database and the key file hold every organization's secrets: owner-only files in an owner-only
folder, and a data folder that cannot hold them is a one-line error, not a traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def omni(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with the user data folder under tmp_path and no settings of ours."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_MCP_")}
    clean.update(XDG_DATA_HOME=str(tmp_path / "xdg"), OMNI_MCP_PLUGINS__ALLOW="[]", **env)
    return subprocess.run(
        [sys.executable, "-m", "omni_mcp", *args], env=clean, capture_output=True, text=True, check=False
    )


def test_the_default_data_folder_and_its_files_are_owner_only(tmp_path: Path) -> None:
    result = omni(tmp_path, "org", "list")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "xdg" / "omni-mcp"
    assert mode(folder) == 0o700
    files = sorted(folder.iterdir())
    assert {"omni-mcp.db", "secret.key"} <= {path.name for path in files}
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_an_existing_default_folder_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "xdg" / "omni-mcp"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)  # as an older omni-mcp left it
    assert omni(tmp_path, "org", "list").returncode == 0
    assert mode(folder) == 0o700


def test_a_folder_the_user_chose_is_left_as_it_is_but_new_files_are_private(tmp_path: Path) -> None:
    chosen = tmp_path / "shared"
    chosen.mkdir(mode=0o755)
    chosen.chmod(0o755)
    result = omni(tmp_path, "org", "list", OMNI_MCP_DATABASE__DATA_DIR=str(chosen))
    assert result.returncode == 0, result.stderr
    assert mode(chosen) == 0o755
    assert mode(chosen / "omni-mcp.db") == 0o600
    assert mode(chosen / "secret.key") == 0o600


def test_a_missing_folder_the_user_chose_is_created_owner_only(tmp_path: Path) -> None:
    chosen = tmp_path / "new" / "data"
    assert omni(tmp_path, "org", "list", OMNI_MCP_DATABASE__DATA_DIR=str(chosen)).returncode == 0
    assert mode(chosen) == 0o700


@pytest.mark.parametrize("command", [["org", "list"], ["serve", "--port", "0"]])
def test_a_data_folder_that_is_a_file_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("I am a file")
    result = omni(tmp_path, *command, OMNI_MCP_DATABASE__DATA_DIR=str(not_a_folder))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"the data folder {not_a_folder} is a file, not a folder" in result.stderr
    assert "database.data_dir (env OMNI_MCP_DATABASE__DATA_DIR)" in result.stderr


@pytest.mark.parametrize("command", [["org", "list"], ["serve", "--port", "0"]])
def test_an_unwritable_data_folder_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    if os.geteuid() == 0:
        unwritable = Path("/sys/omni-mcp-data")  # sysfs refuses new folders even to root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        unwritable = locked / "data"
    result = omni(tmp_path, *command, OMNI_MCP_DATABASE__DATA_DIR=str(unwritable))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"cannot create the data folder {unwritable}" in result.stderr
    assert "database.data_dir" in result.stderr
