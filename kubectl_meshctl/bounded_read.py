"""Reading a file, pipe or stream of unknown size without ever holding more than a cap.

Why this module exists: ``-f /dev/zero``, a FIFO that never ends or a multi-gigabyte file must be one
error line, not all of the machine's memory.  Every reader of bytes the plugin did not write -- manifests
and config dumps (``-f``, stdin), token files, listing-cache entries -- takes them through
:func:`read_at_most`, so each input is bounded by one rule.
"""

from __future__ import annotations

from typing import BinaryIO

MAX_INPUT = 256 << 20
"""Bytes one manifest file, config dump or stdin may have (the same bound as one answer of the API server)."""


class TooLarge(ValueError):
    """The input holds more than the cap; nothing past it was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit >> 20} MiB" if limit >= 1 << 20 else f"larger than {limit} bytes")


def read_at_most(source: int | BinaryIO, limit: int) -> bytes:
    """All of ``source`` (a file descriptor or a binary stream), or TooLarge when it holds more than ``limit`` bytes."""
    import os
    import stat

    chunks: list[bytes] = []
    size = 0
    step = 1 << 16  # doubled up to 16 MiB: os.read allocates what it is asked for, whatever the file holds
    try:
        info = os.fstat(source if isinstance(source, int) else source.fileno())
        if stat.S_ISREG(info.st_mode):
            step = max(step, min(info.st_size + 1, 1 << 24))  # a regular file: its size (and one byte more) at once
    except (OSError, AttributeError, ValueError):  # a stream without a descriptor (BytesIO): unknown size
        pass
    while size <= limit:
        want = min(limit + 1 - size, step)
        step = min(step * 2, 1 << 24)
        chunk = os.read(source, want) if isinstance(source, int) else source.read(want)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise TooLarge(limit)
