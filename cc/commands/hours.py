"""`ccctl hours ...`: business-hours calendars (timezone, weekly opening hours, holidays) used by flows."""

from __future__ import annotations

import dataclasses
import datetime
import re

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
from cc.commands.admin_common import db_option, done, emit, emit_one, open_repos, reload_options, usage_error
from cc.errors import NotFound
from cc.model import BusinessCalendar, Holiday, OpeningHours

__all__ = ["hours", "parse_day_spec"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s*=\s*(.+)$")


def _time(text: str, spec: str) -> datetime.time:
    try:
        if text.strip() == "24:00":
            return datetime.time(23, 59, 59)
        return datetime.time.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{spec!r}: {text!r} is not a time of day (HH:MM)") from None


def parse_day_spec(spec: str) -> list[OpeningHours]:
    """``mon-fri=08:00-18:00`` or ``sat=09:00-12:00,13:00-16:00`` -> opening hours; BadParameter otherwise."""
    m = _SPEC.match(spec.lower())
    if m is None:
        raise click.BadParameter(f"{spec!r}: expected DAY[-DAY]=HH:MM-HH:MM[,HH:MM-HH:MM] (e.g. mon-fri=08:00-18:00)")
    first, last, spans = m.group(1), m.group(2) or m.group(1), m.group(3)
    for day in (first, last):
        if day not in DAYS:
            raise click.BadParameter(f"{spec!r}: unknown day {day!r} (known: {', '.join(DAYS)})")
    lo, hi = DAYS.index(first), DAYS.index(last)
    if hi < lo:
        raise click.BadParameter(f"{spec!r}: {first}-{last} runs backwards")
    out: list[OpeningHours] = []
    for span in spans.split(","):
        opens, sep, closes = span.partition("-")
        if not sep:
            raise click.BadParameter(f"{spec!r}: {span!r} is not HH:MM-HH:MM")
        o, c = _time(opens, spec), _time(closes, spec)
        if not o < c:
            raise click.BadParameter(f"{spec!r}: {span.strip()} closes before it opens")
        out.extend(OpeningHours(d, o, c) for d in range(lo, hi + 1))
    return out


def _rows(cal: BusinessCalendar) -> list[dict[str, str]]:
    return [{"day": DAYS[h.weekday], "opens": h.opens.isoformat("minutes"), "closes": h.closes.isoformat("minutes")}
            for h in cal.hours]


@click.group("hours")
def hours() -> None:
    """Business-hours calendars for flows (`business_hours: {calendar: NAME}`): timezone, hours, holidays.

    \b
    Examples:
      ccctl hours set office --tz Europe/Berlin --day mon-fri=08:00-18:00 --day sat=09:00-12:00
      ccctl hours holiday office 2026-12-25 --name Christmas
      ccctl hours show office
      ccctl hours list --json
    """


@hours.command("set")
@audited("hours.set", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="name")
@click.argument("name")
@click.option("--tz", "timezone", metavar="ZONE", help="IANA timezone (default: keep, else UTC).")
@click.option("--day", "days", multiple=True, metavar="SPEC",
              help="DAY[-DAY]=HH:MM-HH:MM[,...]; repeatable. Given days replace all opening hours.")
@click.option("--closed", is_flag=True, help="Remove every opening hour (closed until --day is given).")
@db_option
@reload_options
def set_(name: str, timezone: str | None, days: tuple[str, ...], closed: bool, db_url: str | None,
         controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Create or change calendar NAME.

    \b
    Example:
      ccctl hours set office --tz America/New_York --day mon-fri=09:00-17:00
    """
    try:
        opening = [h for spec in days for h in parse_day_spec(spec)]
    except click.BadParameter as exc:
        usage_error(f"--day {exc.message}")
        return
    repos = open_repos(db_url)
    existing = repos.calendars.get(name) if name in repos.calendars.list() else BusinessCalendar(name)
    cal = dataclasses.replace(existing, timezone=timezone or existing.timezone,
                              hours=tuple(opening) if (days or closed) else existing.hours)
    repos.calendars.save(cal)
    done(f"calendar {name} saved", controller_url, token, do_reload)


@hours.command("holiday")
@audited("hours.holiday", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="name")
@click.argument("name")
@click.argument("date", metavar="YYYY-MM-DD")
@click.option("--name", "label", default="", help="What the holiday is.")
@click.option("--remove", is_flag=True, help="Remove the holiday instead.")
@db_option
@reload_options
def holiday(name: str, date: str, label: str, remove: bool, db_url: str | None, controller_url: str | None,
            token: str | None, do_reload: bool) -> None:
    """Add (or --remove) a closed day in calendar NAME.

    \b
    Examples:
      ccctl hours holiday office 2026-12-25 --name Christmas
      ccctl hours holiday office 2026-12-25 --remove
    """
    try:
        day = datetime.date.fromisoformat(date)
    except ValueError:
        usage_error(f"DATE {date!r}: expected YYYY-MM-DD")
        return
    repos = open_repos(db_url)
    cal = repos.calendars.get(name)
    others = tuple(h for h in cal.holidays if h.date != day)
    if remove:
        if len(others) == len(cal.holidays):
            raise NotFound("holiday", f"{name} {day.isoformat()}")
        repos.calendars.save(dataclasses.replace(cal, holidays=others))
        done(f"calendar {name}: {day.isoformat()} is no longer a holiday", controller_url, token, do_reload)
        return
    repos.calendars.save(dataclasses.replace(cal, holidays=tuple(sorted((*others, Holiday(day, label)),
                                                                         key=lambda h: h.date))))
    done(f"calendar {name}: {day.isoformat()} closed" + (f" ({label})" if label else ""), controller_url, token,
         do_reload)


@hours.command("del")
@audited("hours.del", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="name")
@click.argument("name")
@db_option
@reload_options
def delete(name: str, db_url: str | None, controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Delete calendar NAME.

    \b
    Example:
      ccctl hours del office
    """
    open_repos(db_url).calendars.delete(name)
    done(f"calendar {name} deleted", controller_url, token, do_reload)


@hours.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(db_url: str | None, as_json: bool) -> None:
    """List calendars.

    \b
    Example:
      ccctl hours list
    """
    repos = open_repos(db_url)
    rows = []
    for cal_name in repos.calendars.list():
        cal = repos.calendars.get(cal_name)
        rows.append({"name": cal.name, "timezone": cal.timezone, "open_days": len({h.weekday for h in cal.hours}),
                     "holidays": len(cal.holidays)})
    emit(rows, ("name", "timezone", "open_days", "holidays"), as_json=as_json, title="calendars",
         empty="no calendars")


@hours.command("show")
@click.argument("name")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name: str, db_url: str | None, as_json: bool) -> None:
    """Show calendar NAME: timezone, opening hours and holidays.

    \b
    Example:
      ccctl hours show office --json
    """
    cal = open_repos(db_url).calendars.get(name)
    if as_json:
        emit_one({"name": cal.name, "timezone": cal.timezone, "hours": _rows(cal),
                  "holidays": [{"date": h.date.isoformat(), "name": h.name} for h in cal.holidays]}, as_json=True)
        return
    click.echo(f"calendar {cal.name} ({cal.timezone})")
    emit(_rows(cal), ("day", "opens", "closes"), as_json=False, title="opening hours", empty="never open")
    emit([{"date": h.date.isoformat(), "name": h.name} for h in cal.holidays], ("date", "name"), as_json=False,
         title="holidays", empty="no holidays")
