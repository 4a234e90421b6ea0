"""working-day calendar years in the database; tasks that concern no single case

Revision ID: 0010
Revises: 0001
Create Date: 2026-12-02 01:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = '0010'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_year',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('holidays', sa.JSON(), nullable=False),
        sa.Column('workdays', sa.JSON(), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('loaded_by_id', sa.Integer(), nullable=False),
        sa.Column('loaded_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['loaded_by_id'], ['user_account.id'], ),
        sa.PrimaryKeyConstraint('year'),
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_year', sa.Integer(), nullable=True))
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('customs_office_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.alter_column('customs_office_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('calendar_year')
    op.drop_table('calendar_year')
