"""leads dedupe: clusters, pair labels

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('lead_dedupe_labels',
    sa.Column('fp_a', sa.String(length=32), nullable=False),
    sa.Column('fp_b', sa.String(length=32), nullable=False),
    sa.Column('match', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('record_a', sa.String(length=200), nullable=False),
    sa.Column('record_b', sa.String(length=200), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_lead_dedupe_labels_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_dedupe_labels')),
    sa.UniqueConstraint('tenant_id', 'fp_a', 'fp_b', name='uq_lead_dedupe_label')
    )
    with op.batch_alter_table('lead_dedupe_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_dedupe_labels_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('lead_dedupe_states',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('engine', sa.String(length=20), nullable=False),
    sa.Column('profile', sa.String(length=40), nullable=False),
    sa.Column('config_digest', sa.String(length=32), nullable=False),
    sa.Column('model', _JSON, nullable=False),
    sa.Column('records_path', sa.Text(), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('cluster_count', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('stats', _JSON, nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_lead_dedupe_states_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_dedupe_states')),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_lead_dedupe_state')
    )
    with op.batch_alter_table('lead_dedupe_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_dedupe_states_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('lead_dedupe_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_dedupe_states_tenant_id'))

    op.drop_table('lead_dedupe_states')
    with op.batch_alter_table('lead_dedupe_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_dedupe_labels_tenant_id'))

    op.drop_table('lead_dedupe_labels')
