"""`--help` and `-h` of every `twin` command, sub-command and stressor: exit 0, no traceback.

Issue 12: `twin stress cpu --help` crashed (argparse %-formats help text and a parameter's unit
was a bare `%`). The lists come from the registries, so a new command or stressor is covered
without touching this file.
"""

from __future__ import annotations

import re

import pytest

from cli.main import COMMANDS
from core.stressors import KINDS

from conftest import run_twin


def assert_help(*argv: str) -> str:
    result = run_twin(*argv)
    shown = " ".join(argv)
    assert result.returncode == 0, f"twin {shown}: exit {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout, f"twin {shown}\n{result.stderr}"
    assert result.stdout.startswith("usage: twin"), f"twin {shown} printed no usage"
    return result.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_level_help(flag: str) -> None:
    shown = assert_help(flag)
    for command in COMMANDS:
        assert command in shown


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_help(command: str, flag: str) -> None:
    shown = assert_help(command, flag)
    # Sub-commands (`twin model {fit,show}`) get theirs checked too.
    usage = shown.split("\n\n", 1)[0]
    choices = re.search(r"\{([a-z_,]+)\}", usage)
    for sub in choices.group(1).split(",") if choices else []:
        assert_help(command, sub, flag)


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_stressor_help(kind: str, flag: str) -> None:
    shown = assert_help("stress", kind, flag)
    assert "--duration" in shown and "--contention" in shown
