"""Files that readers must never see half-written (exports, the bulk files of /datos/)."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

# What a file written by open() gets under the usual umask: the files are public data.
PERMISSIONS = 0o644


@contextmanager
def replaced_on_success(path: Path) -> Iterator[BinaryIO]:
    """A new file for `path`, opened for writing and reading: written under a unique
    temporary name in the same folder, synced to disk and renamed to `path` only when the
    block ends without error; otherwise removed, `path` left as it was. A reader of `path`
    sees the old file or the whole new one, never part of one; two writers of one path never
    share a temporary file (the last to finish wins)."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w+b") as handle:
            os.fchmod(descriptor, PERMISSIONS)
            yield handle
            handle.flush()
            os.fsync(descriptor)
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # The rename itself is on disk once the folder is.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
