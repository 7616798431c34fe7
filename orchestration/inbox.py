"""Drop folders: files placed in the inbox are ingested once, then moved to processed/ or rejected/.

The inbox never follows a symbolic link (anyone who may write to it could otherwise have wardflow read any file
it can open): links are listed apart by `links_in` and moved, as links, to rejected/."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from connectors.settings import Settings

DONE_FOLDERS = ("processed", "rejected")


def inbox_dir(settings: Settings) -> Path:
    """WARDFLOW_HL7_INBOX (or WARDFLOW_INBOX), else home/inbox."""
    configured = os.environ.get("WARDFLOW_HL7_INBOX") or os.environ.get("WARDFLOW_INBOX")
    return Path(configured) if configured else settings.home / "inbox"


def pending_files(inbox: Path) -> list[Path]:
    """Files waiting in the inbox (not yet moved), oldest first; partial uploads (.part, dotfiles) wait."""
    if not inbox.exists():
        return []
    files = [p for p in _entries(inbox) if not p.is_symlink() and p.is_file()]
    return sorted(files, key=lambda p: (p.lstat().st_mtime, str(p)))


def links_in(inbox: Path) -> list[Path]:
    """Symbolic links waiting in the inbox: never read, to be moved aside."""
    return sorted(p for p in _entries(inbox) if p.is_symlink()) if inbox.exists() else []


def _entries(inbox: Path) -> list[Path]:
    """Everything under the inbox that waits (links to folders are listed, never entered)."""
    found = []
    for folder, dirs, names in os.walk(inbox, followlinks=False):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not _skipped((here / d).relative_to(inbox))]  # processed/ is not walked
        found += [here / n for n in [*names, *dirs] if not _skipped((here / n).relative_to(inbox))]
    return found


def _skipped(relative: Path) -> bool:
    return (relative.parts[0] in DONE_FOLDERS or any(part.startswith(".") for part in relative.parts)
            or relative.name.endswith((".part", ".tmp")))


@dataclass(frozen=True)
class Moved:
    source: Path
    destination: Path


def move_done(inbox: Path, path: Path, rejected: bool) -> Moved:
    """Move a handled file, keeping its relative folder; never overwrite an earlier file of the same name."""
    relative = path.relative_to(inbox)
    target = inbox / ("rejected" if rejected else "processed") / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = target, 1
    while candidate.exists():
        candidate = target.with_name(f"{target.stem}.{n}{target.suffix}")
        n += 1
    shutil.move(str(path), candidate)
    return Moved(path, candidate)
