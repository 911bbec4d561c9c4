"""Passwords: the rules a new one must meet, argon2 hashing, and the lock-out rule after failed sign-ins.

Pure: no I/O and no clock (``now`` is passed in). Hashing is argon2id (argon2-cffi); a stored hash made
with weaker parameters is reported by :func:`needs_rehash` so the sign-in can upgrade it.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cc.errors import InvalidValue

__all__ = ["MIN_LENGTH", "Lockout", "check_password", "hash_password", "needs_rehash", "verify_password"]

MIN_LENGTH = 10
MAX_LENGTH = 1024

_HASHER = PasswordHasher()


def check_password(login: str, password: str) -> None:
    """InvalidValue unless ``password`` is at least MIN_LENGTH characters and is not (or does not contain)
    the login, in any case; never echoes the password."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise InvalidValue("password", "(hidden)", f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidValue("password", "(hidden)", f"must be at most {MAX_LENGTH} characters")
    if login and login.casefold() in password.casefold():
        raise InvalidValue("password", "(hidden)", "must not contain the login")
    if len(set(password)) < 3:
        raise InvalidValue("password", "(hidden)", "must use at least 3 different characters")


def hash_password(password: str) -> str:
    """The argon2id hash (with its salt and parameters) to store."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash (False for no hash or a malformed one)."""
    if not stored or not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (re-hash on the next sign-in)."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@dataclass(frozen=True)
class Lockout:
    """After ``max_failures`` failed sign-ins in a row an account is locked for ``lock_s`` seconds."""

    max_failures: int = 5
    lock_s: float = 15 * 60.0

    def locked(self, locked_until: float | None, now: float) -> bool:
        """Whether an account locked until ``locked_until`` is still locked at ``now``."""
        return locked_until is not None and now < locked_until

    def after_failure(self, failures: int, now: float) -> tuple[int, float | None]:
        """(failures, locked_until) after one more failure; the count restarts when the lock is set."""
        failures += 1
        if failures >= self.max_failures:
            return 0, now + self.lock_s
        return failures, None
