"""Timeline entries chained per case and keyed: a chain and a number per entry.

Entries written before this revision were chained the old way (one global, unkeyed SHA-256 chain).
They are kept as they are in the frozen chain ``legacy`` (their number is their id) and are verified
the old way; the first checkpoint after the upgrade anchors that chain's head outside the database.
New entries go to their case's chain (``case:<id>``) or to ``system``, keyed with the audit key.

Revision ID: 0012
Revises: 0001
Create Date: 2026-12-02 00:40:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False,
                                      server_default='legacy'))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE timeline_entry SET chain = 'legacy', seq = id")
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.alter_column('chain', server_default=None)
        batch_op.alter_column('seq', server_default=None)
        batch_op.create_unique_constraint('uq_timeline_entry_chain_seq', ['chain', 'seq'])


def downgrade() -> None:
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.drop_constraint('uq_timeline_entry_chain_seq', type_='unique')
        batch_op.drop_column('seq')
        batch_op.drop_column('chain')
