"""Human-readable numbers for the dashboard: bytes, rates, percentages, durations."""

from __future__ import annotations

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(value: float) -> str:
    """`1536` -> `1.5KiB`; always at most 7 characters."""
    size = float(value)
    for unit in _BINARY:
        if abs(size) < 1024 or unit == _BINARY[-1]:
            if unit == "B":
                return f"{size:.0f}B"
            return f"{size:.1f}{unit}" if abs(size) < 100 else f"{size:.0f}{unit}"
        size /= 1024
    return f"{size:.0f}PiB"  # pragma: no cover - loop always returns


def human_rate(value: float) -> str:
    return f"{human_bytes(value)}/s"


def human_duration(seconds: float) -> str:
    """`75` -> `1:15`, `3700` -> `1:01:40`."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def fmt_number(value: float) -> str:
    """A short number: `50`, `2.5`, `0.25`."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


def with_unit(value: float, unit: str) -> str:
    """A value in the data dictionary's `unit`, short: `52.0%`, `1.5GiB`, `3.2MiB/s`, `46°C`."""
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "B":
        return human_bytes(value)
    if unit == "B/s":
        return human_rate(value)
    if unit == "°C":
        return f"{value:.0f}°C"
    if unit == "1/s":
        return f"{value:.4g}/s"
    return f"{value:.4g}"
