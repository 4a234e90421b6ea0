"""tasks that act: seizure confirmation, viewing time, task escalation, inbox indexes

Revision ID: 0015
Revises: 0001
Create Date: 2026-12-02 00:45:00
"""

from alembic import op
import sqlalchemy as sa
import models.types


revision = '0015'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ipr_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('viewing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheduled_for', models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalated_at', models.types.UTCDateTime(timezone=True), nullable=True))
    live = sa.text("state IN ('open', 'claimed')")
    for name, cols in (('ix_task_live_office', ['customs_office_id', 'due_at', 'id']),
                       ('ix_task_live_group', ['customs_office_id', 'candidate_group', 'assignee_id', 'due_at', 'id']),
                       ('ix_task_live_assignee', ['assignee_id', 'due_at', 'id']),
                       ('ix_task_live_kind', ['customs_office_id', 'kind', 'due_at', 'id'])):
        op.create_index(name, 'human_task', cols, unique=False, sqlite_where=live, postgresql_where=live)
    op.create_index('ix_task_done_by', 'human_task', ['completed_by_id', 'completed_at', 'id'], unique=False)
    # cases registered before this revision were served at once: they count as confirmed
    op.execute("UPDATE ipr_case SET confirmed_at = opened_at")


def downgrade() -> None:
    for name in ('ix_task_done_by', 'ix_task_live_kind', 'ix_task_live_assignee', 'ix_task_live_group',
                 'ix_task_live_office'):
        op.drop_index(name, table_name='human_task')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')
    with op.batch_alter_table('viewing', schema=None) as batch_op:
        batch_op.drop_column('scheduled_for')
    with op.batch_alter_table('ipr_case', schema=None) as batch_op:
        batch_op.drop_column('confirmed_at')
