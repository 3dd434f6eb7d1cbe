"""experiments: experiments, arms, observations, allocations; model registry

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('experiments',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reward', sa.String(length=20), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('srm_period_s', sa.Integer(), nullable=False),
    sa.Column('evidence_total', sa.Float(), nullable=False),
    sa.Column('posterior_version', sa.Integer(), nullable=False),
    sa.Column('posteriors_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_experiments_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments')),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_experiments_tenant_name')
    )
    op.create_index(op.f('ix_experiments_tenant_id'), 'experiments', ['tenant_id'], unique=False)
    op.create_table('model_events',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('alias', sa.String(length=50), nullable=True),
    sa.Column('from_version', sa.String(length=100), nullable=True),
    sa.Column('to_version', sa.String(length=100), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_model_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_events'))
    )
    op.create_index('ix_model_events_name_created', 'model_events', ['tenant_id', 'name', 'created_at'], unique=False)
    op.create_index(op.f('ix_model_events_tenant_id'), 'model_events', ['tenant_id'], unique=False)
    op.create_table('model_versions',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=False),
    sa.Column('artifact_uri', sa.Text(), nullable=True),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_model_versions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('tenant_id', 'name', 'version', name='uq_model_versions_name_version')
    )
    op.create_index(op.f('ix_model_versions_name'), 'model_versions', ['name'], unique=False)
    op.create_index(op.f('ix_model_versions_tenant_id'), 'model_versions', ['tenant_id'], unique=False)
    op.create_table('experiment_arms',
    sa.Column('experiment_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('stat_n', sa.Float(), nullable=False),
    sa.Column('stat_w', sa.Float(), nullable=False),
    sa.Column('stat_s', sa.Float(), nullable=False),
    sa.Column('stat_q', sa.Float(), nullable=False),
    sa.Column('decisions', sa.Integer(), nullable=False),
    sa.Column('observations', sa.Integer(), nullable=False),
    sa.Column('reward_sum', sa.Float(), nullable=False),
    sa.Column('weight_sum', sa.Float(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_experiment_arms_experiment_id_experiments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_experiment_arms_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_arms')),
    sa.UniqueConstraint('experiment_id', 'name', name='uq_experiment_arms_experiment_name')
    )
    op.create_index(op.f('ix_experiment_arms_experiment_id'), 'experiment_arms', ['experiment_id'], unique=False)
    op.create_index(op.f('ix_experiment_arms_tenant_id'), 'experiment_arms', ['tenant_id'], unique=False)
    op.create_table('model_aliases',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('alias', sa.String(length=50), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('traffic', sa.Float(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_model_aliases_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_aliases_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_aliases')),
    sa.UniqueConstraint('tenant_id', 'name', 'alias', name='uq_model_aliases_name_alias')
    )
    op.create_index(op.f('ix_model_aliases_tenant_id'), 'model_aliases', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_model_aliases_version_id'), 'model_aliases', ['version_id'], unique=False)
    op.create_table('model_outcomes',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.String(length=200), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_model_outcomes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_outcomes_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_outcomes')),
    sa.UniqueConstraint('tenant_id', 'name', 'event_id', name='uq_model_outcomes_name_event')
    )
    op.create_index(op.f('ix_model_outcomes_tenant_id'), 'model_outcomes', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_model_outcomes_version_id'), 'model_outcomes', ['version_id'], unique=False)
    op.create_table('experiment_allocations',
    sa.Column('experiment_id', sa.Uuid(), nullable=False),
    sa.Column('arm_id', sa.Uuid(), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned', sa.Integer(), nullable=False),
    sa.Column('intended', sa.Float(), nullable=False),
    sa.Column('observed', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['arm_id'], ['experiment_arms.id'], name=op.f('fk_experiment_allocations_arm_id_experiment_arms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_experiment_allocations_experiment_id_experiments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_experiment_allocations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_allocations')),
    sa.UniqueConstraint('arm_id', 'period_start', name='uq_experiment_allocations_arm_period')
    )
    op.create_index('ix_experiment_allocations_experiment_period', 'experiment_allocations', ['experiment_id', 'period_start'], unique=False)
    op.create_index(op.f('ix_experiment_allocations_tenant_id'), 'experiment_allocations', ['tenant_id'], unique=False)
    op.create_table('experiment_observations',
    sa.Column('experiment_id', sa.Uuid(), nullable=False),
    sa.Column('arm_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('reward', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['arm_id'], ['experiment_arms.id'], name=op.f('fk_experiment_observations_arm_id_experiment_arms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_experiment_observations_experiment_id_experiments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_experiment_observations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_observations')),
    sa.UniqueConstraint('experiment_id', 'event_id', name='uq_experiment_observations_experiment_event')
    )
    op.create_index(op.f('ix_experiment_observations_arm_id'), 'experiment_observations', ['arm_id'], unique=False)
    op.create_index('ix_experiment_observations_pending', 'experiment_observations', ['experiment_id', 'applied_at'], unique=False)
    op.create_index(op.f('ix_experiment_observations_tenant_id'), 'experiment_observations', ['tenant_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_experiment_observations_tenant_id'), table_name='experiment_observations')
    op.drop_index('ix_experiment_observations_pending', table_name='experiment_observations')
    op.drop_index(op.f('ix_experiment_observations_arm_id'), table_name='experiment_observations')
    op.drop_table('experiment_observations')
    op.drop_index(op.f('ix_experiment_allocations_tenant_id'), table_name='experiment_allocations')
    op.drop_index('ix_experiment_allocations_experiment_period', table_name='experiment_allocations')
    op.drop_table('experiment_allocations')
    op.drop_index(op.f('ix_model_outcomes_version_id'), table_name='model_outcomes')
    op.drop_index(op.f('ix_model_outcomes_tenant_id'), table_name='model_outcomes')
    op.drop_table('model_outcomes')
    op.drop_index(op.f('ix_model_aliases_version_id'), table_name='model_aliases')
    op.drop_index(op.f('ix_model_aliases_tenant_id'), table_name='model_aliases')
    op.drop_table('model_aliases')
    op.drop_index(op.f('ix_experiment_arms_tenant_id'), table_name='experiment_arms')
    op.drop_index(op.f('ix_experiment_arms_experiment_id'), table_name='experiment_arms')
    op.drop_table('experiment_arms')
    op.drop_index(op.f('ix_model_versions_tenant_id'), table_name='model_versions')
    op.drop_index(op.f('ix_model_versions_name'), table_name='model_versions')
    op.drop_table('model_versions')
    op.drop_index(op.f('ix_model_events_tenant_id'), table_name='model_events')
    op.drop_index('ix_model_events_name_created', table_name='model_events')
    op.drop_table('model_events')
    op.drop_index(op.f('ix_experiments_tenant_id'), table_name='experiments')
    op.drop_table('experiments')
