"""the application route: a case's route, and the rights holder's detention application (Reg 12-15)

Revision ID: 0018
Revises: 0001
Create Date: 2026-12-05 16:30:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import models.types


revision = '0018'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ipr_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route', sa.String(length=32), nullable=False, server_default='ex-officio'))
    op.create_table(
        'detention_application',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('rights_holder_id', sa.Integer(), nullable=False),
        sa.Column('grounds', sa.Text(), nullable=False),
        sa.Column('expected_on', sa.Date(), nullable=True),
        sa.Column('transport', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('filed_by_id', sa.Integer(), nullable=False),
        sa.Column('filed_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decision', sa.String(length=32), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['ipr_case.id']),
        sa.ForeignKeyConstraint(['rights_holder_id'], ['rights_holder.id']),
        sa.ForeignKeyConstraint(['filed_by_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id'),
    )
    with op.batch_alter_table('detention_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_detention_application_rights_holder_id'), ['rights_holder_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('detention_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_detention_application_rights_holder_id'))
    op.drop_table('detention_application')
    with op.batch_alter_table('ipr_case', schema=None) as batch_op:
        batch_op.drop_column('route')
