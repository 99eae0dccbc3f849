"""The `twin` command line: argparse, the subcommands and Rich printing.

It sits above the engine (`core`) and the Textual app (`tui`), and imports both.
"""
