"""The `twin` command line: argparse, the subcommands and Rich printing, above the engine (`core`)."""
