"""Tests of the pure dialer core (cc.dialer)."""
