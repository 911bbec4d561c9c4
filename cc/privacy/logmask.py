"""Numbers masked in log lines: a logging.Filter for the handlers that `ccctl serve` (and sim, demo) set up.

Call sites mask the numbers they log on purpose (``mask_number``); the filter is the net under them:
a number inside an exception's text, a ``%r`` of a command or record, a FreeSWITCH reply. It renders
the record's message once, masks it (``mask_text``) and does the same to the traceback text, so that
every formatter after it sees masked text only.
"""

from __future__ import annotations

import logging

from cc.privacy.mask import mask_text

__all__ = ["MaskingFilter", "install_log_masking"]


class MaskingFilter(logging.Filter):
    """Masks phone numbers in a record's message and traceback; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its masked rendering (args folded in)."""
        try:
            message = record.getMessage()
        except Exception:   # a bad format string: let the handler report it as logging does
            return True
        record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Add one MaskingFilter to every handler of ``logger`` (the root logger by default); idempotent."""
    target = logger if logger is not None else logging.getLogger()
    filt = MaskingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt
