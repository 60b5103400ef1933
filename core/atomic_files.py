"""Files that appear whole or not at all: write beside the target, then rename over it (os.replace is
atomic on one filesystem), so a reader never sees half a file and a crash leaves the old one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replaced_on_success(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`: renamed over `path` when the block succeeds, removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> Path:
    with replaced_on_success(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def write_json_atomic(path: Path, data: Any) -> Path:
    """JSON, indented, ending in a newline."""
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
