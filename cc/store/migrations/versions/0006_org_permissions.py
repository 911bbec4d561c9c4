"""organisation and permissions: org units as a tree (teams.parent, teams.kind), users, roles with permissions,
role grants with scopes, API tokens owned by users (each token's old role becomes a built-in role grant), and
an append-only audit log (triggers refuse UPDATE and DELETE; DELETE only below an audit_purges retention cut)

Revision ID: 0006_org_permissions
Revises: 0005
Create Date: 2026-12-07 03:40:00.000000
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_org_permissions'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the built-in roles (their permissions live in cc.authz.policy, not in rows)
BUILTIN = (("admin", "Everything, everywhere it is granted."),
           ("manager", "Runs the floor: reports, recordings, live control, campaigns, users of the scope."),
           ("supervisor", "Supervises teams: live view and control, monitoring, reports, recordings."),
           ("qa", "Quality assurance: recordings, scoring, QA reports."),
           ("agent", "Acts for the user's own agent: sign-in, status, own calls and scores."))

_users = sa.table("users", sa.column("id", sa.Integer), sa.column("login", sa.String),
                  sa.column("display_name", sa.String), sa.column("password_hash", sa.String),
                  sa.column("disabled", sa.Boolean), sa.column("failed_attempts", sa.Integer),
                  sa.column("agent_id", sa.String), sa.column("locale", sa.String),
                  sa.column("created_at", sa.DateTime(timezone=True)))
_grants = sa.table("role_grants", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
                   sa.column("role", sa.String), sa.column("everywhere", sa.Boolean))
_tokens = sa.table("api_tokens", sa.column("name", sa.String), sa.column("role", sa.String),
                   sa.column("agent_id", sa.String), sa.column("user_id", sa.Integer),
                   sa.column("created_at", sa.DateTime(timezone=True)))

_PG_FUNCTION = """
CREATE FUNCTION cc_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_log' THEN
    IF OLD.at < (SELECT max(p.before) FROM audit_purges p) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'cc: % is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$
"""


def _append_only(table: str, dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cc_audit_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION cc_audit_append_only()")
        return
    op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
               f"BEGIN SELECT RAISE(ABORT, 'cc: {table} is append-only: UPDATE refused'); END")
    when = ("WHEN OLD.at >= COALESCE((SELECT MAX(p.before) FROM audit_purges p), '') "
            if table == "audit_log" else "")
    op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {when}"
               f"BEGIN SELECT RAISE(ABORT, 'cc: {table} is append-only: DELETE refused'); END")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.Enum('department', 'team', name='kind', native_enum=False,
                                                      create_constraint=True, length=32),
                                      server_default='team', nullable=False))
        batch_op.create_index(batch_op.f('ix_teams_parent'), ['parent'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_teams_parent_teams'), 'teams', ['parent'], ['name'],
                                    ondelete='RESTRICT')

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('login', sa.String(length=128), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=False),
    sa.Column('password_hash', sa.String(length=1024), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_users_agent_id_agents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('agent_id', name=op.f('uq_users_agent_id')),
    sa.UniqueConstraint('login', name=op.f('uq_users_login'))
    )
    roles = op.create_table('roles',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=1024), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_roles'))
    )
    op.create_table('role_permissions',
    sa.Column('role', sa.String(length=128), nullable=False),
    sa.Column('permission', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['role'], ['roles.name'], name=op.f('fk_role_permissions_role_roles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role', 'permission', name=op.f('pk_role_permissions'))
    )
    op.create_table('role_grants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=128), nullable=False),
    sa.Column('everywhere', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['role'], ['roles.name'], name=op.f('fk_role_grants_role_roles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants')),
    sa.UniqueConstraint('user_id', 'role', name='user_role')
    )
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grants_role'), ['role'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_grants_user_id'), ['user_id'], unique=False)
    op.create_table('role_grant_units',
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['role_grants.id'], name=op.f('fk_role_grant_units_grant_id_role_grants'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit'], ['teams.name'], name=op.f('fk_role_grant_units_unit_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grant_id', 'unit', name=op.f('pk_role_grant_units'))
    )
    with op.batch_alter_table('role_grant_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grant_units_unit'), ['unit'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('login', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=128), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('client', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action_at', ['action', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_login_at', ['login', 'at'], unique=False)
    op.create_table('audit_purges',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('login', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_purges'))
    )
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
    _append_only("audit_log", dialect)
    _append_only("audit_purges", dialect)

    op.bulk_insert(roles, [{"name": name, "builtin": True, "description": text} for name, text in BUILTIN])

    # every token acts for a user: an agent token for the agent's user, any other for a user named after it
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
    bind = op.get_bind()
    by_agent: dict[str, int] = {}
    for name, role, agent_id, created in bind.execute(
            sa.select(_tokens.c.name, _tokens.c.role, _tokens.c.agent_id, _tokens.c.created_at)
            .order_by(_tokens.c.name)).all():
        user_id = by_agent.get(agent_id) if agent_id is not None else None
        if user_id is None:
            bind.execute(_users.insert().values(
                login=name, display_name="", password_hash=None, disabled=False, failed_attempts=0,
                agent_id=agent_id, locale="", created_at=created or datetime.datetime.now(datetime.UTC)))
            user_id = bind.execute(sa.select(_users.c.id).where(_users.c.login == name)).scalar_one()
            if agent_id is not None:
                by_agent[agent_id] = user_id
        held = bind.execute(sa.select(_grants.c.id).where(_grants.c.user_id == user_id,
                                                          _grants.c.role == role)).first()
        if held is None:
            bind.execute(_grants.insert().values(user_id=user_id, role=role, everywhere=role != "agent"))
        bind.execute(_tokens.update().where(_tokens.c.name == name).values(user_id=user_id))

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_api_tokens_agent_id'))
        batch_op.drop_constraint(batch_op.f('ck_api_tokens_agent_token_has_agent'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_api_tokens_role'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_agent_id_agents'), type_='foreignkey')
        batch_op.drop_column('agent_id')
        batch_op.drop_column('role')
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_user_id_users'), 'users', ['user_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    # a token keeps the old role its user held (admin > supervisor (or manager) > agent); others are dropped
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('agent_id', sa.String(length=64), nullable=True))
    bind = op.get_bind()
    for name, user_id in bind.execute(sa.select(_tokens.c.name, _tokens.c.user_id)).all():
        held = {r for (r,) in bind.execute(sa.select(_grants.c.role).where(_grants.c.user_id == user_id))}
        agent_id = bind.execute(sa.select(_users.c.agent_id).where(_users.c.id == user_id)).scalar()
        role = ("admin" if "admin" in held else "supervisor" if held & {"supervisor", "manager"}
                else "agent" if "agent" in held and agent_id is not None else None)
        if role is None:
            bind.execute(_tokens.delete().where(_tokens.c.name == name))
        else:
            bind.execute(_tokens.update().where(_tokens.c.name == name)
                         .values(role=role, agent_id=agent_id if role == "agent" else None))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_column('user_id')
        batch_op.alter_column('role', existing_type=sa.String(length=32), nullable=False,
                              type_=sa.Enum('admin', 'supervisor', 'agent', name='role', native_enum=False,
                                            create_constraint=True, length=32))
        batch_op.create_check_constraint(batch_op.f('ck_api_tokens_agent_token_has_agent'),
                                         "role <> 'agent' OR agent_id IS NOT NULL")
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_agent_id_agents'), 'agents', ['agent_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_api_tokens_agent_id'), ['agent_id'], unique=False)

    op.drop_table('audit_purges')
    op.drop_table('audit_log')
    if dialect == "postgresql":
        op.execute("DROP FUNCTION cc_audit_append_only()")
    op.drop_table('role_grant_units')
    op.drop_table('role_grants')
    op.drop_table('users')
    op.drop_table('role_permissions')
    op.drop_table('roles')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_teams_parent_teams'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_teams_parent'))
        batch_op.drop_constraint(batch_op.f('ck_teams_kind'), type_='check')
        batch_op.drop_column('kind')
        batch_op.drop_column('parent')
