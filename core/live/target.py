"""Where InfluxDB writes go (`--influx`, `twin export --to influx`): checked before anything runs.

Kept apart from the client so the command line can check flags without loading pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import BadInput


@dataclass(frozen=True)
class InfluxTarget:
    """Where to write: a 1.x database, or a 2.x org and bucket (with a token)."""

    url: str
    db: str = ""
    org: str = ""
    bucket: str = ""
    token: str = ""

    @property
    def v2(self) -> bool:
        return bool(self.bucket)

    @classmethod
    def parse(
        cls,
        url: str,
        db: str | None = None,
        org: str | None = None,
        bucket: str | None = None,
        token: str | None = None,
        flag: str = "--to influx",
    ) -> InfluxTarget:
        """Check the URL and the names now: a malformed one is bad input (exit 2)."""
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            ok = ok and (parts.port is None or 0 < parts.port < 65536)
        except ValueError:  # e.g. an unclosed [ or a port that is not a number
            ok = False
        if not ok:
            raise BadInput(f"{flag} {url}: not an http(s) URL (for example http://127.0.0.1:8086)")
        if bucket or org:
            if not (bucket and org):
                raise BadInput(f"{flag} {url}: InfluxDB 2.x needs both --org and --bucket")
        elif not db:
            raise BadInput(
                f"{flag} {url}: name the database (--db NAME, InfluxDB 1.x) "
                "or --org and --bucket (2.x)"
            )
        return cls(url.rstrip("/"), db or "", org or "", bucket or "", token or "")

    def export_command(self, run_dir: str) -> str:
        """The `twin export` line that writes a run here (for rows a stream could not send)."""
        where = f"--org {self.org} --bucket {self.bucket}" if self.v2 else f"--db {self.db}"
        return f"twin export {run_dir} --to influx {self.url} {where}"
