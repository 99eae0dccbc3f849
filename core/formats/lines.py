"""Problems found while reading a foreign file, each `FILE:LINE: reason`.

Every unreadable line is either fatal (the import stops with exit 2, nothing written) or, under
`--skip-bad`, skipped and counted; never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ProfileError

MAX_SHOWN = 20  # a file with thousands of bad lines is reported by its first ones and a count


class FormatError(ProfileError):
    """Lines of a foreign file that cannot be read; printed bare (`FILE:LINE: reason`), exit 2."""


@dataclass
class LineProblems:
    """Collects `FILE:LINE: reason` lines; `skip_bad` turns them into a skip count."""

    skip_bad: bool = False
    problems: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, path: Path, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        self.problems.append(f"{where}: {reason}")
        self.skipped[str(path)] = self.skipped.get(str(path), 0) + 1

    def fatal(self, path: Path, line: int | None, reason: str) -> FormatError:
        """A problem that no `--skip-bad` can get past (not this format at all)."""
        where = f"{path}:{line}" if line is not None else str(path)
        return FormatError([f"{where}: {reason}"])

    def read_text(self, path: Path) -> str:
        """The file's text (UTF-8), or a fatal problem saying why it cannot be read."""
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise self.fatal(path, None, f"cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise self.fatal(path, None, "cannot read: not UTF-8 text") from None

    def raise_unless_skipping(self) -> None:
        """Stop with every problem (the first `MAX_SHOWN`), unless bad lines are being skipped."""
        if self.problems and not self.skip_bad:
            shown = self.problems[:MAX_SHOWN]
            rest = len(self.problems) - len(shown)
            if rest:
                shown.append(f"... and {rest} more unreadable lines (--skip-bad skips them)")
            raise FormatError(shown)

    def summary(self) -> list[str]:
        """One note per file with skipped lines (for stderr and run.json)."""
        return [f"{path}: skipped {n} unreadable lines" for path, n in self.skipped.items()]
