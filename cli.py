"""The `ccctl` command line (its own name: `cc` is the C compiler): a thin click group; CCError -> exit code."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping

import click

from cc.errors import CCError

#: The console command (setup.cfg console_scripts): its own name, so that it never shadows `cc`, the C compiler.
PROG = "ccctl"

#: (module, attribute) of every command or group; each area of cc adds its own line here. The command's name is
#: the attribute's, without a trailing ``_`` and with ``-`` for ``_`` (``import_`` is ``import``): a module is
#: imported only when its command runs (or ``--help`` lists them all), so a command starts without the others'
#: imports (the API, the runtime, the dialer ...). tests/admin/test_cli_name.py checks every line.
COMMANDS: list[tuple[str, str]] = [
    ("cc.commands.demo", "demo"),
    ("cc.commands.replay", "replay"),
    ("cc.commands.serve", "serve"),
    ("cc.commands.db", "db"),
    ("cc.commands.flow", "flow"),
    ("cc.commands.queue", "queue"),
    ("cc.commands.agent", "agent"),
    ("cc.commands.skill", "skill"),
    ("cc.commands.skill", "team"),
    ("cc.commands.tier", "tier"),
    ("cc.commands.io", "import_"),
    ("cc.commands.io", "export"),
    ("cc.commands.route", "flow"),
    ("cc.commands.hours", "hours"),
    ("cc.commands.live", "call"),
    ("cc.commands.live", "record"),
    ("cc.commands.live", "reload"),
    ("cc.commands.token", "token"),
    ("cc.commands.users", "user"),
    ("cc.commands.users", "org"),
    ("cc.commands.users", "role"),
    ("cc.commands.users", "audit"),
    ("cc.commands.report", "report"),
    ("cc.commands.qa", "qa"),
    ("cc.commands.staff", "staff"),
    ("cc.commands.whatif", "whatif"),
    ("cc.commands.sim", "sim"),
    ("cc.commands.retention", "retention"),
    ("cc.commands.customer", "customer"),
    ("cc.commands.customer_field", "customer_field"),
    ("cc.commands.campaign", "campaign"),
    ("cc.commands.outbound", "dnc"),
    ("cc.commands.outbound", "result"),
    ("cc.commands.outbound", "callback"),
    ("cc.commands.outbound", "customer_type"),
]


class CCGroup(click.Group):
    """A click group that turns a CCError into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a CCError becomes `ccctl: message` and ``exit_code``."""
        try:
            return super().invoke(ctx)
        except CCError as exc:
            click.echo(f"{PROG}: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(PROG, cls=CCGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cc", prog_name=PROG)
def cc() -> None:
    """ccctl: control cc, a call-center engine on FreeSWITCH.

    \b
    Example:
      ccctl flow validate flows/
    """


def command_name(attr: str) -> str:
    """The name of the command a COMMANDS line's attribute holds (``import_`` -> ``import``)."""
    return attr.rstrip("_").replace("_", "-")


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands, each module imported when its command is first looked up (all when listed)."""

    def __init__(self, table: list[tuple[str, str]]) -> None:
        self._pending: dict[str, list[tuple[str, str]]] = {}
        for module, attr in table:
            self._pending.setdefault(command_name(attr), []).append((module, attr))
        self._loaded: dict[str, click.Command] = {}

    def _load(self, name: str) -> None:
        for module, attr in self._pending.pop(name, []):   # a group extended by a second module (flow + route)
            cmd = getattr(importlib.import_module(module), attr)
            self._loaded.setdefault(name, cmd)

    def _load_all(self) -> None:
        for name in list(self._pending):
            self._load(name)

    def __getitem__(self, name: str) -> click.Command:
        self._load(name)
        return self._loaded[name]

    def __setitem__(self, name: str, cmd: click.Command) -> None:
        self._load(name)
        self._loaded[name] = cmd

    def __delitem__(self, name: str) -> None:
        self._load(name)
        del self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._pending or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return iter(self._loaded)

    def __len__(self) -> int:
        self._load_all()
        return len(self._loaded)


cc.commands = LazyCommands(COMMANDS)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cc.main(prog_name=PROG, standalone_mode=True))


if __name__ == "__main__":
    main()
