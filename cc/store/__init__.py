"""Persistence: SQLAlchemy models, alembic migrations, repositories and the write-behind writer.

The only package of cc that imports SQLAlchemy or alembic. Typical use::

    from cc.store import Database, Repos, Writer, upgrade

    upgrade(url)                      # or `ccctl db upgrade --url URL`
    db = Database(url)                # url: argument, else $CC_DATABASE_URL, else sqlite:///cc.db
    repos = Repos(db)                 # configuration, CRM, history queries and report aggregates
    writer = Writer(db, "var/cc-history.journal")   # history records, never blocking a call
"""

from __future__ import annotations

from cc.store.campaigns import CampaignRepos
from cc.store.db import (
    Database,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    resolve_url,
    upgrade,
)
from cc.store.qa import QaRepo
from cc.store.repos import AgentStats, QueueStats, Repos, SurveyStats, normalize_phone
from cc.store.tokens import ApiToken, TokenRepo
from cc.store.writer import Writer, WriterStats

__all__ = [
    "AgentStats",
    "ApiToken",
    "CampaignRepos",
    "Database",
    "QaRepo",
    "QueueStats",
    "Repos",
    "SurveyStats",
    "TokenRepo",
    "Writer",
    "WriterStats",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "normalize_phone",
    "resolve_url",
    "upgrade",
]
