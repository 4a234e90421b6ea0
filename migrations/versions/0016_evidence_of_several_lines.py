"""the same file may be evidence of several lines of a case

Revision ID: 0016
Revises: 0001
Create Date: 2026-12-02 00:40:00
"""

from alembic import op

revision = '0016'
down_revision = '0001'
branch_labels = None
depends_on = None

# The initial schema left these unique constraints unnamed: PostgreSQL named them itself, SQLite's
# batch mode finds them through this convention.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _names(bind) -> tuple[str, str]:
    if bind.dialect.name == "postgresql":
        return "evidence_case_id_sha256_key", "evidence_key_key"
    return "uq_evidence_case_id_sha256", "uq_evidence_key"


def upgrade() -> None:
    by_hash, by_key = _names(op.get_bind())
    with op.batch_alter_table('evidence', schema=None, naming_convention=_CONVENTION) as batch_op:
        batch_op.drop_constraint(by_hash, type_='unique')
        batch_op.drop_constraint(by_key, type_='unique')
        batch_op.create_unique_constraint('uq_evidence_case_id_sha256_line_id', ['case_id', 'sha256', 'line_id'])
        batch_op.create_index(batch_op.f('ix_evidence_key'), ['key'], unique=False)


def downgrade() -> None:
    by_hash, by_key = _names(op.get_bind())
    with op.batch_alter_table('evidence', schema=None, naming_convention=_CONVENTION) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_key'))
        batch_op.drop_constraint('uq_evidence_case_id_sha256_line_id', type_='unique')
        batch_op.create_unique_constraint(by_key, ['key'])
        batch_op.create_unique_constraint(by_hash, ['case_id', 'sha256'])
