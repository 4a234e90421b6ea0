"""unlock links by e-mail: requests, hashed single-use tokens, and when they were used

Revision ID: 0020
Revises: 0001
Create Date: 2026-12-05 17:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0020'
down_revision = '0001'
branch_labels = None
depends_on = '0013'  # beside sign_in_attempt, which it clears


def upgrade() -> None:
    op.create_table('sign_in_unlock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('expires_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mailed_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('sign_in_unlock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_unlock_client'), ['client'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_unlock_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_unlock_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_unlock_username'), ['username'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_unlock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_unlock_username'))
        batch_op.drop_index(batch_op.f('ix_sign_in_unlock_user_id'))
        batch_op.drop_index(batch_op.f('ix_sign_in_unlock_requested_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_unlock_client'))

    op.drop_table('sign_in_unlock')
