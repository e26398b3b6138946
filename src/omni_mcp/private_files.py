"""The data folder and the files omni-mcp keeps in it (SQLite database, key file): owner-only.

A database and a key file hold every organization's secrets; nobody else on the machine may read them.
New files are created 0600 in a 0700 folder. The default data folder is ours and is tightened even when
it exists; a folder the user chose is created 0700 when missing but never changed when it exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from omni_mcp.errors import StartupError

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
DATA_DIR_HINT = "choose another with database.data_dir (env OMNI_MCP_DATABASE__DATA_DIR)"


class DataFolderError(StartupError):
    """The data folder cannot hold omni-mcp's files; the message names it and what to do."""


def ensure_private_folder(folder: Path, *, ours: bool, hint: str = DATA_DIR_HINT) -> None:
    """Make sure `folder` exists, is a folder and is writable; create it (and tighten ours) owner-only."""
    if folder.exists() and not folder.is_dir():
        raise DataFolderError(f"the data folder {folder} is a file, not a folder; remove it or {hint}")
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=PRIVATE_FOLDER_MODE)
            folder.chmod(PRIVATE_FOLDER_MODE)  # mkdir's mode is filtered by the umask
        elif ours:
            folder.chmod(PRIVATE_FOLDER_MODE)
    except OSError as error:
        raise DataFolderError(
            f"cannot create the data folder {folder}: {error.strerror or error}; {hint}"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataFolderError(f"the data folder {folder} is not writable by this user; {hint}")


def create_private_file(path: Path) -> bool:
    """Create an empty owner-only file unless it exists; True when this call created it."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    except OSError as error:
        raise DataFolderError(f"cannot create {path}: {error.strerror or error}; {DATA_DIR_HINT}") from None
    os.close(descriptor)
    return True
