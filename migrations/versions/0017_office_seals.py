"""the seal of each customs office, printed on its documents

Revision ID: 0017
Revises: 0001
Create Date: 2026-12-05 14:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customs_office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('seal_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('seal_size', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customs_office', schema=None) as batch_op:
        batch_op.drop_column('seal_size')
        batch_op.drop_column('seal_sha256')
        batch_op.drop_column('seal_key')
