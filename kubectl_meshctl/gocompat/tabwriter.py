"""Go's ``text/tabwriter``, as kubectl and istioctl use it to print tables.

Why this module exists: byte-exact tables (trailing spaces included) come from tabwriter's rules
-- a cell is text terminated by a tab, the last cell of a line is never padded, column widths are
computed per block of consecutive lines that have that column, and a line without any tab ends
every block -- which no Python table library reproduces.  Pure string functions; :func:`table` quotes
cells that a terminal would not show as one cell.
"""

from __future__ import annotations

from typing import NamedTuple

from ..redact import quote


class TabWriterConfig(NamedTuple):
    """Go's tabwriter settings (no dataclass on the listing-cache path: docs/architecture.md)."""

    minwidth: int
    tabwidth: int
    padding: int
    padchar: str = " "


KUBECTL = TabWriterConfig(minwidth=6, tabwidth=4, padding=3)
"""k8s.io/cli-runtime printers.GetNewTabWriter."""


def _format_block(lines: list[list[str]], config: TabWriterConfig) -> list[str]:
    out: list[list[str]] = [[] for _ in lines]

    def emit(line0: int, line1: int, widths: list[int]) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            parts = out[i]
            for j, cell in enumerate(cells):
                parts.append(cell)
                if j < len(widths):
                    parts.append(" " * (widths[j] - len(cell)))

    def fmt(line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            emit(line0, this, widths)
            line0 = this
            width = config.minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + config.padding)
                this += 1
            fmt(line0, this, [*widths, width])
            line0 = this
        emit(line0, line1, widths)

    fmt(0, len(lines), [])
    return ["".join(p) for p in out]


def tabwrite(text: str, config: TabWriterConfig) -> str:
    """Format ``text`` (tab-separated cells, newline-terminated lines) as tabwriter's Flush would."""
    result: list[str] = []
    block: list[list[str]] = []
    lines = text.split("\n")
    trailing = lines.pop() if lines else ""
    for line in lines:
        cells = line.split("\t")
        block.append(cells)
        if len(cells) == 1:  # a line without tabs ends every column block (tabwriter flushes)
            result.extend(_format_block(block, config))
            block = []
    if block:
        result.extend(_format_block(block, config))
    formatted = "\n".join(result) + ("\n" if lines else "")
    return formatted + trailing


def table(rows: list[list[str]], config: TabWriterConfig = KUBECTL) -> str:
    """Rows of cells joined by tabs (the last cell unpadded), formatted: kubectl's printer.

    A cell holding a control character (a tab, a newline, an escape sequence) is shown quoted (``redact.quote``, Go's
    ``%q``), so every row stays one line of its own columns and nothing reaches the terminal raw.
    """
    if not "".join(map("".join, rows)).isprintable():
        rows = [[quote(c) for c in r] for r in rows]
    uniform = rows and all(len(r) == len(rows[0]) for r in rows)
    if uniform and config.padchar == " ":
        return _uniform_table(rows, config)
    return tabwrite("".join("\t".join(r) + "\n" for r in rows), config)


def _uniform_table(rows: list[list[str]], config: TabWriterConfig) -> str:
    """What :func:`tabwrite` gives when every row has the same cells: one block, each column as wide as its widest
    cell plus padding (at least minwidth), the last column unpadded -- straight, since tables are thousands of rows.
    Space padding only."""
    widths = [max(config.minwidth, max(map(len, column)) + config.padding) for column in list(zip(*rows, strict=True))[:-1]]
    line = "".join(f"{{:<{w}}}" for w in widths) + "{}\n"
    return "".join(line.format(*r) for r in rows)
