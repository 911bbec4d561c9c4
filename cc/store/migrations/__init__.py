"""Alembic migrations of the cc schema (env.py and versions/)."""
