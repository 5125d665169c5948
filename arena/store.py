"""The episode store: an append-only ``episodes.jsonl``, one record per line.

Every append is flushed and ``fsync``-ed before :meth:`EpisodeStore.append` returns, so a run
killed at any moment loses at most the episode being written. A torn last line (a write cut
off by the kill) is cut away when the store is opened again, and an episode id is never
written twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from palaestra.arena.records import EpisodeRecord

EPISODES_FILE = "episodes.jsonl"


class EpisodeStore:
    """Append-only JSONL store of :class:`EpisodeRecord`.

    Args:
        path: The ``.jsonl`` file, or a run directory (then ``<dir>/episodes.jsonl``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        self.path = path / EPISODES_FILE if path.is_dir() or not path.suffix else path
        self._file: IO[str] | None = None
        self._ids: set[str] | None = None

    def __enter__(self) -> EpisodeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exists(self) -> bool:
        """Whether the file holds at least one byte."""
        return self.path.exists() and self.path.stat().st_size > 0

    def repair(self) -> int:
        """Cut a torn last line (no trailing newline) off the file; return the bytes cut."""
        if not self.path.exists():
            return 0
        with open(self.path, "rb+") as f:
            data = f.read()
            if not data or data.endswith(b"\n"):
                return 0
            keep = data.rfind(b"\n") + 1
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
            return len(data) - keep

    def __iter__(self) -> Iterator[EpisodeRecord]:
        """The complete records, in file order (a torn last line is skipped)."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.endswith("\n"):
                    return  # torn by a kill mid-write
                if line.strip():
                    try:
                        yield EpisodeRecord.from_json(line)
                    except (ValueError, TypeError) as err:
                        raise ValueError(
                            f"{self.path}:{number}: not an episode record: {err}"
                        ) from err

    def records(self) -> list[EpisodeRecord]:
        return list(self)

    def episode_ids(self) -> set[str]:
        """Ids of the episodes already stored."""
        if self._ids is None:
            self._ids = {r.episode_id for r in self}
        return set(self._ids)

    def append(self, record: EpisodeRecord) -> None:
        """Write one record durably (flush + fsync).

        Raises:
            ValueError: The episode id is already stored.
        """
        if self._file is None:
            self.repair()
            self.episode_ids()  # loads the ids already stored
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        assert self._ids is not None
        if record.episode_id in self._ids:
            raise ValueError(f"episode {record.episode_id!r} is already in {self.path}")
        self._file.write(record.to_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._ids.add(record.episode_id)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
