"""sign-in attempts; handoff bound to the browser; sessions grouped by sign-in

Revision ID: 0013
Revises: 0001
Create Date: 2026-12-02 00:40:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0013'
down_revision = '0001'
branch_labels = None
depends_on = '0005'  # alters sign_in_session


def upgrade() -> None:
    op.create_table('sign_in_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('browser', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_attempt_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_attempt_browser'), ['browser'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_attempt_client'), ['client'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_attempt_username'), ['username'], unique=False)

    with op.batch_alter_table('sign_in_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('origin_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sign_in_session_origin_id'), ['origin_id'], unique=False)
        batch_op.create_foreign_key('fk_sign_in_session_origin_id', 'sign_in_session', ['origin_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('sign_in_session', schema=None) as batch_op:
        batch_op.drop_constraint('fk_sign_in_session_origin_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sign_in_session_origin_id'))
        batch_op.drop_column('origin_id')
        batch_op.drop_column('nonce_hash')

    with op.batch_alter_table('sign_in_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_attempt_username'))
        batch_op.drop_index(batch_op.f('ix_sign_in_attempt_client'))
        batch_op.drop_index(batch_op.f('ix_sign_in_attempt_browser'))
        batch_op.drop_index(batch_op.f('ix_sign_in_attempt_at'))

    op.drop_table('sign_in_attempt')
