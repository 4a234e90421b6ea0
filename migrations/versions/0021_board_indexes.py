"""indexes for the managers' board: cases by opening time, answers by answering time

The board lists an office's latest cases and the minutes to each answer in its window; without these
SQLite sorted all the office's cases and walked every notice of them (bench/scale.py: 134 ms and 271 ms
at 100,000 cases, against 0.5 ms and 163 ms with them).

Revision ID: 0021
Revises: 0001
Create Date: 2026-12-06 12:30:00
"""

from alembic import op


revision = '0021'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ipr_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ipr_case_opened_at'), ['opened_at'], unique=False)
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_answered_at'), ['answered_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_answered_at'))
    with op.batch_alter_table('ipr_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ipr_case_opened_at'))
