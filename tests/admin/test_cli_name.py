"""The console command is `ccctl`, never `cc` (the POSIX C compiler): entry points, usage lines, examples, docs."""

from __future__ import annotations

import configparser
import re
import subprocess
from importlib import metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import cc

ROOT = Path(__file__).resolve().parents[2]
SUBCOMMANDS = "|".join(sorted(cc.commands))
#: `cc <subcommand>` written as a command (not `from cc import`, not `cc.sim`)
OLD_COMMAND = re.compile(rf"(?<![\w./$-])(?<!from )cc (?:{SUBCOMMANDS})\b(?! center)")


def _console_scripts(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, target = line.partition("=")
        if sep:
            out[name.strip()] = target.strip()
    return out


def test_setup_cfg_installs_ccctl_and_no_cc() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    assert _console_scripts(cfg["options.entry_points"]["console_scripts"]) == {"ccctl": "cli:main"}


def test_installed_entry_points_have_no_cc_script() -> None:
    scripts = {ep.name: ep.value for ep in metadata.distribution("cc").entry_points
               if ep.group == "console_scripts"}
    assert scripts == {"ccctl": "cli:main"}, "reinstall: pip install -e '.[dev]'"


def _commands() -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                out.append((*path, name))
                walk(sub, (*path, name))

    walk(cc, ())
    return out


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "ccctl")
def test_every_help_names_ccctl(path: tuple[str, ...]) -> None:
    res = CliRunner().invoke(cc, [*path, "--help"], catch_exceptions=False)
    assert res.exit_code == 0
    usage = res.output.splitlines()[0]
    assert usage.startswith(f"Usage: {' '.join(('ccctl', *path))} "), usage
    assert OLD_COMMAND.search(res.output) is None, res.output
    examples = res.output.partition("Example")[2]
    assert examples, f"no example in {' '.join(path)} --help"
    assert re.search(r"^\s+(\S+=\S+ )?(export \w+=\$\()?ccctl ", examples, re.M), examples


def test_errors_and_version_name_ccctl() -> None:
    res = CliRunner().invoke(cc, ["whatif", "--agents", "0", "--calls-per-hour", "10"])
    assert res.exit_code == 2 and res.output.startswith("ccctl: ")
    res = CliRunner().invoke(cc, ["--version"])
    assert res.output.startswith("ccctl, version ")


def test_no_file_runs_or_shows_the_old_command() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    skip = ("tests/data/esl-captures/", "tests/integration/sipp/", "tests/admin/test_cli_name.py")
    offenders = []
    for f in files:
        p = ROOT / f
        if f.startswith(skip) or not p.is_file() or (p.suffix not in {".py", ".md", ".yaml", ".cfg"}
                                                      and p.name not in ("Makefile", "run")):
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{f}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in OLD_COMMAND.finditer(text)]
        offenders += [f"{f}: bin/cc" for _ in re.finditer(r"bin/cc\b(?!\.)", text)]
    assert offenders == []


def test_every_commands_line_names_its_command() -> None:
    """cli.COMMANDS is read lazily by name: each line's attribute gives the name of the command it holds."""
    import importlib

    from cli import COMMANDS, command_name

    for module, attr in COMMANDS:
        cmd = getattr(importlib.import_module(module), attr)
        assert cmd.name == command_name(attr), (module, attr)
        assert cc.commands[cmd.name] is cmd or module == "cc.commands.route", (module, attr)


def test_a_command_starts_without_the_others_imports() -> None:
    """`ccctl report calls` imports neither the API, the runtime, the simulator nor the xlsx/PNG libraries: a user
    waited 35 s for a 445-row CSV, mostly for imports the command does not need."""
    import sys

    script = ("import sys, cli\n"
              "sys.argv = ['ccctl', 'report', 'calls', '--help']\n"
              "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
              "heavy = ('cc.api', 'cc.runtime', 'cc.sim', 'cc.commands.demo', 'matplotlib', 'openpyxl')\n"
              "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-2000:]
