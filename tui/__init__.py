"""The Textual front end of `twin`: dashboard, timeline editor and run control.

`tui.data` holds plain data and engine glue (never imports Textual); the
screens, widgets and dialogs build on it. `tui.app.make_app` builds the app for
the CLI and the tests alike.
"""
