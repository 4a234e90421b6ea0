"""recordation images (以图识图)

Revision ID: 0011
Revises: 0001
Create Date: 2026-12-02 00:55:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0011'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recordation_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recordation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('added_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['recordation_id'], ['recordation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key'),
    sa.UniqueConstraint('recordation_id', 'sha256')
    )
    with op.batch_alter_table('recordation_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordation_image_recordation_id'), ['recordation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recordation_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordation_image_recordation_id'))
    op.drop_table('recordation_image')
