"""When and how log files rotate, by size or by time. Pure: sizes, names and timestamps in, decisions out.

The rule it keeps: a file is only cut at a line boundary, and never grows past max_bytes unless one line
alone is longer than that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day

from circus_web_stack.core.errors import ConfigError


def bytes_fitting(block: bytes, used: int, max_bytes: int) -> int:
    """How many leading bytes of `block` go into a file already holding `used` bytes.

    0 means "rotate first". A line longer than max_bytes goes whole into an empty file.
    """
    if used + len(block) <= max_bytes:
        return len(block)
    room = max(max_bytes - used, 0)
    cut = block.rfind(b"\n", 0, room) + 1
    if cut:
        return cut
    if used:
        return 0
    first_line_end = block.find(b"\n") + 1
    return first_line_end or len(block)


def size_rotation_renames(filename: str, backup_count: int) -> list[tuple[str, str]]:
    """The renames of one size rollover, in the order to do them: oldest backup first, the live file last.

    The backup past backup_count is overwritten by the rename onto it.
    """
    renames = [(f"{filename}.{i}", f"{filename}.{i + 1}") for i in range(backup_count - 1, 0, -1)]
    renames.append((filename, f"{filename}.1"))
    return renames


_SECONDS_PER_UNIT = {"S": 1, "M": 60, "H": 3600, "D": 86400}
# Circus's backup-name suffixes (compatible, so existing clean-up scripts keep matching).
_SUFFIX_FORMATS = {"S": "%Y%m%d%H%M%S", "M": "%Y%m%d%H%M", "H": "%Y%m%d%H"}
_DAY_SUFFIX_FORMAT = "%Y%m%d"
VALID_ROTATE_WHEN = ("S", "M", "H", "D", "midnight", "W0", "W1", "W2", "W3", "W4", "W5", "W6")


@dataclass(frozen=True, slots=True)
class TimedRotation:
    """A rotate_when/rotate_interval/utc schedule.

    S, M, H, D: every `interval` seconds, minutes, hours or days counted from the previous rollover.
    midnight: at the midnight that starts the day `interval` days ahead.
    W0-W6 (Monday-Sunday): at the midnight starting that weekday, every `interval` weeks.
    """

    when: str  # normalised: S, M, H, D, MIDNIGHT or W0..W6
    interval: int
    utc: bool

    @classmethod
    def parse(cls, rotate_when: str, rotate_interval: int, utc: bool) -> TimedRotation:
        """Raises ConfigError naming the option at fault and what would be valid."""
        when = rotate_when.strip().upper()
        if when not in _SECONDS_PER_UNIT and when != "MIDNIGHT" and not re.fullmatch(r"W[0-6]", when):
            valid = ", ".join(VALID_ROTATE_WHEN)
            raise ConfigError(
                f"{rotate_when!r} is not a rotation period; use one of {valid}", option="rotate_when"
            )
        if rotate_interval < 1:
            raise ConfigError(f"must be 1 or more, got {rotate_interval}", option="rotate_interval")
        return cls(when, rotate_interval, utc)

    @property
    def _by_calendar(self) -> bool:
        return self.when not in _SECONDS_PER_UNIT

    def next_rollover(self, now: float) -> float:
        """The first rollover strictly after `now` (seconds since the epoch)."""
        if not self._by_calendar:
            return now + self.interval * _SECONDS_PER_UNIT[self.when]
        today = self._date_of(now)
        if self.when == "MIDNIGHT":
            return self._midnight_of(today + timedelta(days=self.interval))
        days_ahead = (int(self.when[1]) - today.weekday()) % 7 or 7
        return self._midnight_of(today + timedelta(days=days_ahead, weeks=self.interval - 1))

    def backup_suffix(self, rollover_at: float) -> str:
        """The suffix naming the file that covers the period ending at `rollover_at` (its start time)."""
        if not self._by_calendar:
            start = rollover_at - self.interval * _SECONDS_PER_UNIT[self.when]
            return self._datetime_of(start).strftime(_SUFFIX_FORMATS.get(self.when, _DAY_SUFFIX_FORMAT))
        days = self.interval * (7 if self.when.startswith("W") else 1)
        # Calendar arithmetic, not rollover_at - 86400 * days, so a DST change cannot shift the date.
        return (self._date_of(rollover_at) - timedelta(days=days)).strftime(_DAY_SUFFIX_FORMAT)

    def backup_pattern(self) -> re.Pattern[str]:
        digits = {"S": 14, "M": 12, "H": 10}.get(self.when, 8)
        return re.compile(rf"\d{{{digits}}}")

    def expired_backups(self, names: Iterable[str], basename: str, backup_count: int) -> list[str]:
        """Which of the directory entries `names` are backups of `basename` beyond the newest backup_count.

        backup_count 0 keeps every backup.
        """
        if backup_count <= 0:
            return []
        pattern = self.backup_pattern()
        prefix = basename + "."
        backups = sorted(
            n for n in names if n.startswith(prefix) and pattern.fullmatch(n[len(prefix) :]) is not None
        )
        return backups[: max(len(backups) - backup_count, 0)]

    def _datetime_of(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, UTC if self.utc else None)

    def _date_of(self, timestamp: float) -> date:
        return self._datetime_of(timestamp).date()

    def _midnight_of(self, day: date) -> float:
        return datetime.combine(day, time_of_day(0), UTC if self.utc else None).timestamp()
