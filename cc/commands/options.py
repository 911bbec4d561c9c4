"""Options that mean the same in every command: one name, one type and one unit per concept (docs/admin.md).

- ``--calls-per-hour RATE``  arrivals per hour (a Poisson rate), a float;
- ``--agents N``             a number of agents, an integer (a roster file is ``--roster FILE``);
- ``--duration DURATION``    simulated time, with its unit: ``90s``, ``30m``, ``2h`` (a bare number is seconds);
- ``--time-scale FLOAT``     wall seconds per simulated second (0.01: an hour in 36 s), a float > 0.

An option renamed keeps its old spelling for one release, hidden from ``--help``: using it prints one
deprecation line on stderr (see :func:`old_spelling`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from cc.errors import InvalidValue

__all__ = ["TIME_SCALE_HELP", "TimeScale", "duration_option", "old_spelling", "prefer", "time_scale_option"]

F = TypeVar("F", bound=Callable[..., Any])

#: The help of every --time-scale.
TIME_SCALE_HELP = "Wall seconds per simulated second (0.01: an hour in 36 s; 1: real time)."


if TYPE_CHECKING:   # click >= 8.3 types ParamType by its value; older clicks are not generic
    _FloatType = click.ParamType[float, Any]
else:
    _FloatType = click.ParamType


class TimeScale(_FloatType):
    """A float > 0; a bad value is one line (InvalidValue, exit 2), as every bad value of cc's commands."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """``value`` as a float > 0."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InvalidValue("--time-scale", value, "expected a number > 0, e.g. 0.01") from None
        if not math.isfinite(v) or v <= 0:
            raise InvalidValue("--time-scale", value, "expected a number > 0, e.g. 0.01")
        return v


def time_scale_option(default: float, show_default: str | bool = True, help: str = TIME_SCALE_HELP) -> Callable[[F], F]:
    """``--time-scale FLOAT``: wall seconds per simulated second."""
    return click.option("--time-scale", type=TimeScale(), default=default, show_default=show_default, help=help)


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from cc.config import parse_duration

    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as e:
        raise InvalidValue("--duration", value, f"{e} (e.g. 90s, 30m, 2h)") from None
    if seconds <= 0:
        raise InvalidValue("--duration", value, "must be more than 0 (e.g. 90s, 30m, 2h)")
    return seconds


def duration_option(default: str | None, help: str) -> Callable[[F], F]:
    """``--duration DURATION``: simulated time with its unit (``90s``, ``30m``, ``2h``); seconds in the command."""
    return click.option("--duration", default=default, show_default=default is not None, metavar="DURATION",
                        callback=_duration, help=help)


def old_spelling(old: str, new: str, dest: str, **kwargs: Any) -> Callable[[F], F]:
    """The old name of an option renamed to ``new``: accepted for one release, hidden, its value in ``dest``
    (give it to :func:`prefer`); using it prints one line on stderr."""

    def warn(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and ctx.get_parameter_source(param.name or dest) is ParameterSource.COMMANDLINE:
            click.echo(f"ccctl {ctx.info_name}: {old} is deprecated and goes in the next release: use {new}",
                       err=True)
        return value

    return click.option(old, dest, hidden=True, default=None, callback=warn, help=f"Deprecated: use {new}.",
                        **kwargs)


def prefer(ctx: click.Context, new: str, new_dest: str, new_value: Any, old: str, old_value: Any) -> Any:
    """The option's value: the old spelling's when only it was given; both given is a bad argument."""
    if old_value is None:
        return new_value
    if ctx.get_parameter_source(new_dest) is ParameterSource.COMMANDLINE:
        raise InvalidValue(old, old_value, f"give {new} only ({old} is its old name)")
    return old_value
