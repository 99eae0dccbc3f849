"""Plain data behind the screens: history, formatting, the editor's draft and engine glue.

Nothing in this package imports Textual or Rich.
"""
