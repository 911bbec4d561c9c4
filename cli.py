"""The `ccctl` command line (its own name: `cc` is the C compiler): a thin click group; CCError -> exit code."""

from __future__ import annotations

import importlib
import sys

import click

from cc.errors import CCError

#: The console command (setup.cfg console_scripts): its own name, so that it never shadows `cc`, the C compiler.
PROG = "ccctl"

#: (module, attribute) of every command or group; each area of cc adds its own line here.
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
    ("cc.commands.staff", "staff"),
    ("cc.commands.whatif", "whatif"),
    ("cc.commands.sim", "sim"),
    ("cc.commands.retention", "retention"),
    ("cc.commands.customer", "customer"),
    ("cc.commands.campaign", "campaign"),
    ("cc.commands.outbound", "dnc"),
    ("cc.commands.outbound", "result"),
    ("cc.commands.outbound", "callback"),
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


for _module, _attr in COMMANDS:
    cc.add_command(getattr(importlib.import_module(_module), _attr))


def main() -> None:
    """Console-script entry point."""
    sys.exit(cc.main(prog_name=PROG, standalone_mode=True))


if __name__ == "__main__":
    main()
