"""the consignor's counter-bond for detained patent goods (Reg 19, 24(3); Meas 20)

Revision ID: 0019
Revises: 0001
Create Date: 2026-12-05 16:30:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '0019'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('counter_bond',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('consignor_id', sa.Integer(), nullable=False),
    sa.Column('rights_holder_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('form', sa.String(length=32), nullable=False),
    sa.Column('amount', models.types.Money(), nullable=False),
    sa.Column('bank', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('letter_no', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('evidence_id', sa.Integer(), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('received_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('notified_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('court_due', sa.Date(), nullable=True),
    sa.Column('court', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('court_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('court_filed_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('court_evidence_id', sa.Integer(), nullable=True),
    sa.Column('court_recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('refundable_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_by_id', sa.Integer(), nullable=True),
    sa.Column('refund_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('refund_evidence_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['ipr_case.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['goods_line.id'], ),
    sa.ForeignKeyConstraint(['consignor_id'], ['consignor.id'], ),
    sa.ForeignKeyConstraint(['rights_holder_id'], ['rights_holder.id'], ),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
    sa.ForeignKeyConstraint(['received_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], ),
    sa.ForeignKeyConstraint(['court_evidence_id'], ['evidence.id'], ),
    sa.ForeignKeyConstraint(['court_recorded_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['refunded_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['refund_evidence_id'], ['evidence.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('line_id')
    )
    with op.batch_alter_table('counter_bond', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counter_bond_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_counter_bond_rights_holder_id'), ['rights_holder_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('counter_bond', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counter_bond_rights_holder_id'))
        batch_op.drop_index(batch_op.f('ix_counter_bond_case_id'))
    op.drop_table('counter_bond')
