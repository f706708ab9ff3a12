"""A finding's level (Info, Warning, Error), apart from the findings themselves.

Why this module exists: rendering a cached listing counts warnings by level and must stay cheap to import;
``findings.py`` (four dataclasses and the catalogue of codes: ~3 ms) is imported only where findings are made.
"""

from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def word(self) -> str:
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a level (Info, Warning, Error)") from None
