"""Dates as input: one type of error for every date field and every date filter.

``query_day`` reads the day filters of every list, feed, export and page (``on=``,
``from=``, ``to=``); ``field_date`` reads an event date given in a body, a form or a CSV
row. Both raise ``InvalidDate``: a 422 ``invalid_date`` naming the field and the value,
with an example of what is accepted::

    {"error": "invalid_date", "field": "from", "value": "¹", "example": "2019-11-16",
     "detail": "from: cannot read '¹' as a day: '¹' is not a digit this archive reads ..."}
"""

from __future__ import annotations

import datetime

from app.errors import InvalidInput
from app.kit.dates import EXAMPLES, DateParseError, EventDate, parse_event_date

DAY_EXAMPLE = "2019-11-16"
DATE_EXAMPLE = "16 Nov 2019"


class InvalidDate(InvalidInput):
    code = "invalid_date"

    def __init__(self, field: str, value: str, detail: str, example: str) -> None:
        super().__init__(
            f"{field}: {detail}", field=field, extra={"value": value[:200], "example": example}
        )


def query_day(value: str | None, field: str) -> datetime.date | None:
    """One day (a filter): None when absent or blank, else the day or InvalidDate."""
    if value is None or not value.strip():
        return None
    try:
        parsed = parse_event_date(value)
    except DateParseError as exc:
        reason = exc.reason
    else:
        if parsed.earliest == parsed.latest:
            return parsed.earliest
        reason = f"it spans {parsed.display_en}"
    raise InvalidDate(
        field,
        value,
        f"cannot read {value!r} as a day: {reason}. Give one day, like {DAY_EXAMPLE} or "
        "16 Nov 2019",
        DAY_EXAMPLE,
    )


def field_date(value: str, field: str = "date") -> EventDate:
    """An uncertain event date (a day, a month, a range or a set of days) or InvalidDate."""
    try:
        return parse_event_date(value)
    except DateParseError as exc:
        raise InvalidDate(
            field,
            value,
            f"cannot read {exc.value!r} as a date: {exc.reason}. Accepted forms include {EXAMPLES}",
            DATE_EXAMPLE,
        ) from None
