"""What a screen pop shows of a number: its region (归属地) from phonenumbers' geocoder, in Chinese, and the
number as the user may see it (masked unless the decision lets him reveal it)."""

from __future__ import annotations

import datetime
import zoneinfo

import phonenumbers

from cc.privacy.mask import mask_number

__all__ = ["local_minute", "region_of", "shown_number"]


def region_of(number: str, default_region: str) -> str:
    """The region a number belongs to, in Chinese (``北京市``, ``广东省深圳市``; a country for a foreign number);
    empty when unknown or not a number."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, None if number.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    # imported here: its data takes most of a second to load, done ahead in a worker thread by cc.service
    from phonenumbers import geocoder

    return str(geocoder.description_for_number(parsed, "zh"))


def shown_number(number: str, reveal: bool) -> str:
    """The number as a page shows it: whole for a user allowed to reveal it, else masked (138****5678)."""
    return number if reveal else mask_number(number)


def local_minute(text: str, zone: str) -> float | None:
    """An HTML ``datetime-local`` value (``2026-12-07T15:30``) in ``zone`` -> epoch seconds at the minute;
    None when empty; ValueError when it is not a time."""
    text = (text or "").strip()
    if not text:
        return None
    when = datetime.datetime.fromisoformat(text).replace(second=0, microsecond=0)
    if when.tzinfo is None:
        when = when.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return when.timestamp()
