"""workflows: generations, versions, events, batches, pattern usage, node templates

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('workflow_batches',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_batches_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_batches'))
    )
    op.create_index(op.f('ix_workflow_batches_tenant_id'), 'workflow_batches', ['tenant_id'], unique=False)
    op.create_table('workflow_node_templates',
    sa.Column('template_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('node_type', sa.String(length=50), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_node_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_node_templates')),
    sa.UniqueConstraint('tenant_id', 'template_id', name='uq_workflow_node_templates_tenant_id')
    )
    op.create_index(op.f('ix_workflow_node_templates_tenant_id'), 'workflow_node_templates', ['tenant_id'], unique=False)
    op.create_table('workflow_generations',
    sa.Column('requirement', sa.Text(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('requested_mode', sa.String(length=20), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=30), nullable=True),
    sa.Column('batch_id', sa.Uuid(), nullable=True),
    sa.Column('batch_index', sa.Integer(), nullable=True),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('quality_score', sa.Float(), nullable=True),
    sa.Column('cost_usd_micros', sa.BigInteger(), nullable=False),
    sa.Column('llm_calls', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('error_status', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['workflow_batches.id'], name=op.f('fk_workflow_generations_batch_id_workflow_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_generations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_generations'))
    )
    op.create_index(op.f('ix_workflow_generations_batch_id'), 'workflow_generations', ['batch_id'], unique=False)
    op.create_index('ix_workflow_generations_status_updated', 'workflow_generations', ['status', 'updated_at'], unique=False)
    op.create_index('ix_workflow_generations_tenant_created', 'workflow_generations', ['tenant_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_workflow_generations_tenant_id'), 'workflow_generations', ['tenant_id'], unique=False)
    op.create_table('workflow_generation_events',
    sa.Column('generation_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['generation_id'], ['workflow_generations.id'], name=op.f('fk_workflow_generation_events_generation_id_workflow_generations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_generation_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_generation_events')),
    sa.UniqueConstraint('generation_id', 'seq', name='uq_workflow_generation_events_seq')
    )
    op.create_index(op.f('ix_workflow_generation_events_tenant_id'), 'workflow_generation_events', ['tenant_id'], unique=False)
    op.create_table('workflow_versions',
    sa.Column('generation_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('app_mode', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('dsl', sa.Text(), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('warnings', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('quality_score', sa.Float(), nullable=False),
    sa.Column('quality', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('repairs', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('patterns', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('templates', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('timings', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('notes', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('cost_usd_micros', sa.BigInteger(), nullable=False),
    sa.Column('llm_calls', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['generation_id'], ['workflow_generations.id'], name=op.f('fk_workflow_versions_generation_id_workflow_generations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_versions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_versions')),
    sa.UniqueConstraint('generation_id', 'number', name='uq_workflow_versions_generation_number')
    )
    op.create_index(op.f('ix_workflow_versions_tenant_id'), 'workflow_versions', ['tenant_id'], unique=False)
    op.create_table('workflow_pattern_usage',
    sa.Column('generation_id', sa.Uuid(), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('pattern_id', sa.String(length=100), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['generation_id'], ['workflow_generations.id'], name=op.f('fk_workflow_pattern_usage_generation_id_workflow_generations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_pattern_usage_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['workflow_versions.id'], name=op.f('fk_workflow_pattern_usage_version_id_workflow_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_pattern_usage'))
    )
    op.create_index(op.f('ix_workflow_pattern_usage_tenant_id'), 'workflow_pattern_usage', ['tenant_id'], unique=False)
    op.create_index('ix_workflow_pattern_usage_tenant_pattern', 'workflow_pattern_usage', ['tenant_id', 'pattern_id'], unique=False)
    op.create_index(op.f('ix_workflow_pattern_usage_version_id'), 'workflow_pattern_usage', ['version_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_workflow_pattern_usage_version_id'), table_name='workflow_pattern_usage')
    op.drop_index('ix_workflow_pattern_usage_tenant_pattern', table_name='workflow_pattern_usage')
    op.drop_index(op.f('ix_workflow_pattern_usage_tenant_id'), table_name='workflow_pattern_usage')
    op.drop_table('workflow_pattern_usage')
    op.drop_index(op.f('ix_workflow_versions_tenant_id'), table_name='workflow_versions')
    op.drop_table('workflow_versions')
    op.drop_index(op.f('ix_workflow_generation_events_tenant_id'), table_name='workflow_generation_events')
    op.drop_table('workflow_generation_events')
    op.drop_index(op.f('ix_workflow_generations_tenant_id'), table_name='workflow_generations')
    op.drop_index('ix_workflow_generations_tenant_created', table_name='workflow_generations')
    op.drop_index('ix_workflow_generations_status_updated', table_name='workflow_generations')
    op.drop_index(op.f('ix_workflow_generations_batch_id'), table_name='workflow_generations')
    op.drop_table('workflow_generations')
    op.drop_index(op.f('ix_workflow_node_templates_tenant_id'), table_name='workflow_node_templates')
    op.drop_table('workflow_node_templates')
    op.drop_index(op.f('ix_workflow_batches_tenant_id'), table_name='workflow_batches')
    op.drop_table('workflow_batches')
