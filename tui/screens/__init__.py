"""The app's screens: the dashboard, the timeline editor, help (and analysis, when present)."""
