"""Persistence: SQLAlchemy models, alembic migrations, repositories and the write-behind writer."""
