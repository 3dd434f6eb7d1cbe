"""knowledge: bases, documents, chunks, patterns, winners

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('kb_bases',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('system', sa.Boolean(), nullable=False),
    sa.Column('backend', sa.String(length=20), nullable=False),
    sa.Column('collection', sa.String(length=80), nullable=False),
    sa.Column('embed_model', sa.String(length=200), nullable=False),
    sa.Column('embed_sha256', sa.String(length=64), nullable=False),
    sa.Column('embed_dim', sa.Integer(), nullable=False),
    sa.Column('chunk_size', sa.Integer(), nullable=False),
    sa.Column('chunk_overlap', sa.Integer(), nullable=False),
    sa.Column('document_count', sa.Integer(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_bases_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_bases')),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_kb_bases_tenant_name')
    )
    op.create_index(op.f('ix_kb_bases_tenant_id'), 'kb_bases', ['tenant_id'], unique=False)
    op.create_table('kb_pattern_seeds',
    sa.Column('library_sha256', sa.String(length=64), nullable=False),
    sa.Column('manifest', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_pattern_seeds_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_pattern_seeds')),
    sa.UniqueConstraint('tenant_id', name='uq_kb_pattern_seeds_tenant')
    )
    op.create_index(op.f('ix_kb_pattern_seeds_tenant_id'), 'kb_pattern_seeds', ['tenant_id'], unique=False)
    op.create_table('kb_patterns',
    sa.Column('pattern_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('mode', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('indexed_sha256', sa.String(length=64), nullable=True),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_patterns_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_patterns')),
    sa.UniqueConstraint('tenant_id', 'pattern_id', name='uq_kb_patterns_tenant_pattern')
    )
    op.create_index(op.f('ix_kb_patterns_tenant_id'), 'kb_patterns', ['tenant_id'], unique=False)
    op.create_table('kb_winners',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('headline', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('impressions', sa.BigInteger(), nullable=False),
    sa.Column('clicks', sa.BigInteger(), nullable=False),
    sa.Column('conversions', sa.BigInteger(), nullable=False),
    sa.Column('spend_minor', sa.BigInteger(), nullable=False),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('launched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_winners_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_winners')),
    sa.UniqueConstraint('tenant_id', 'channel', 'content_sha256', name='uq_kb_winners_content')
    )
    op.create_index(op.f('ix_kb_winners_tenant_id'), 'kb_winners', ['tenant_id'], unique=False)
    op.create_table('kb_documents',
    sa.Column('kb_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['kb_id'], ['kb_bases.id'], name=op.f('fk_kb_documents_kb_id_kb_bases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_documents_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_documents')),
    sa.UniqueConstraint('kb_id', 'source_key', name='uq_kb_documents_kb_source')
    )
    op.create_index('ix_kb_documents_kb_sha', 'kb_documents', ['kb_id', 'content_sha256'], unique=False)
    op.create_index(op.f('ix_kb_documents_tenant_id'), 'kb_documents', ['tenant_id'], unique=False)
    op.create_table('kb_jobs',
    sa.Column('kb_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['kb_id'], ['kb_bases.id'], name=op.f('fk_kb_jobs_kb_id_kb_bases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_jobs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_jobs'))
    )
    op.create_index(op.f('ix_kb_jobs_kb_id'), 'kb_jobs', ['kb_id'], unique=False)
    op.create_index(op.f('ix_kb_jobs_tenant_id'), 'kb_jobs', ['tenant_id'], unique=False)
    op.create_table('kb_chunks',
    sa.Column('kb_id', sa.Uuid(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('section', sa.String(length=500), nullable=False),
    sa.Column('span_start', sa.Integer(), nullable=False),
    sa.Column('span_end', sa.Integer(), nullable=False),
    sa.Column('page_start', sa.Integer(), nullable=True),
    sa.Column('page_end', sa.Integer(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['kb_documents.id'], name=op.f('fk_kb_chunks_document_id_kb_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['kb_id'], ['kb_bases.id'], name=op.f('fk_kb_chunks_kb_id_kb_bases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_chunks_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_chunks'))
    )
    op.create_index('ix_kb_chunks_document_ordinal', 'kb_chunks', ['document_id', 'ordinal'], unique=False)
    op.create_index(op.f('ix_kb_chunks_kb_id'), 'kb_chunks', ['kb_id'], unique=False)
    op.create_index(op.f('ix_kb_chunks_tenant_id'), 'kb_chunks', ['tenant_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_kb_chunks_tenant_id'), table_name='kb_chunks')
    op.drop_index(op.f('ix_kb_chunks_kb_id'), table_name='kb_chunks')
    op.drop_index('ix_kb_chunks_document_ordinal', table_name='kb_chunks')
    op.drop_table('kb_chunks')
    op.drop_index(op.f('ix_kb_jobs_tenant_id'), table_name='kb_jobs')
    op.drop_index(op.f('ix_kb_jobs_kb_id'), table_name='kb_jobs')
    op.drop_table('kb_jobs')
    op.drop_index(op.f('ix_kb_documents_tenant_id'), table_name='kb_documents')
    op.drop_index('ix_kb_documents_kb_sha', table_name='kb_documents')
    op.drop_table('kb_documents')
    op.drop_index(op.f('ix_kb_winners_tenant_id'), table_name='kb_winners')
    op.drop_table('kb_winners')
    op.drop_index(op.f('ix_kb_patterns_tenant_id'), table_name='kb_patterns')
    op.drop_table('kb_patterns')
    op.drop_index(op.f('ix_kb_pattern_seeds_tenant_id'), table_name='kb_pattern_seeds')
    op.drop_table('kb_pattern_seeds')
    op.drop_index(op.f('ix_kb_bases_tenant_id'), table_name='kb_bases')
    op.drop_table('kb_bases')
