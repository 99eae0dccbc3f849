"""server-twin engine: telemetry, stressors, experiments. Never imports Textual or Rich."""

__version__ = "0.1.0"
