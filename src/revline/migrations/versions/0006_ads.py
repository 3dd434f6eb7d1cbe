"""ads: ads, spend, attribution, CRM deals, pending_ad_changes, history

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('ad_accounts',
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('usage_pct', sa.Integer(), nullable=False),
    sa.Column('usage', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('usage_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('throttled_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_accounts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_accounts')),
    sa.UniqueConstraint('tenant_id', 'platform', 'external_id', name='uq_ad_accounts_external')
    )
    with op.batch_alter_table('ad_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_accounts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ad_evaluations',
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_evaluations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_evaluations'))
    )
    with op.batch_alter_table('ad_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_evaluations_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ads_tenant_config',
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('crm_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('crm_sync_summary', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ads_tenant_config_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ads_tenant_config')),
    sa.UniqueConstraint('tenant_id', name='uq_ads_tenant_config_tenant')
    )
    with op.batch_alter_table('ads_tenant_config', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ads_tenant_config_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_stages',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('pipeline_id', sa.String(length=100), nullable=False),
    sa.Column('pipeline_label', sa.String(length=300), nullable=False),
    sa.Column('stage_id', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('probability', sa.Float(), nullable=True),
    sa.Column('is_closed', sa.Boolean(), nullable=False),
    sa.Column('display_order', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_crm_stages_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_stages')),
    sa.UniqueConstraint('tenant_id', 'source', 'pipeline_id', 'stage_id', name='uq_crm_stages_stage')
    )
    with op.batch_alter_table('crm_stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_stages_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_webhook_events',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_crm_webhook_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_webhook_events'))
    )
    with op.batch_alter_table('crm_webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_webhook_events_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ads',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('daily_budget_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('learning_status', sa.String(length=20), nullable=True),
    sa.Column('learning_info', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pipeline_value_minor', sa.BigInteger(), nullable=False),
    sa.Column('pipeline_deals', sa.Integer(), nullable=False),
    sa.Column('pipeline_aggregated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ad_accounts.id'], name=op.f('fk_ads_account_id_ad_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ads_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ads')),
    sa.UniqueConstraint('tenant_id', 'platform', 'external_id', name='uq_ads_external')
    )
    with op.batch_alter_table('ads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ads_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ads_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ad_clicks',
    sa.Column('ad_id', sa.Uuid(), nullable=False),
    sa.Column('fbclid', sa.String(length=500), nullable=True),
    sa.Column('gclid', sa.String(length=500), nullable=True),
    sa.Column('email_sha256', sa.String(length=64), nullable=True),
    sa.Column('phone_sha256', sa.String(length=64), nullable=True),
    sa.Column('ip_sha256', sa.String(length=64), nullable=True),
    sa.Column('ua_sha256', sa.String(length=64), nullable=True),
    sa.Column('landing_url', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['ads.id'], name=op.f('fk_ad_clicks_ad_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_clicks_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_clicks'))
    )
    with op.batch_alter_table('ad_clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_clicks_ad_id'), ['ad_id'], unique=False)
        batch_op.create_index('ix_ad_clicks_email', ['tenant_id', 'email_sha256'], unique=False)
        batch_op.create_index('ix_ad_clicks_fbclid', ['tenant_id', 'fbclid'], unique=False)
        batch_op.create_index('ix_ad_clicks_gclid', ['tenant_id', 'gclid'], unique=False)
        batch_op.create_index('ix_ad_clicks_phone', ['tenant_id', 'phone_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_ad_clicks_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_ad_clicks_tenant_time', ['tenant_id', 'occurred_at'], unique=False)

    op.create_table('ad_decisions',
    sa.Column('evaluation_id', sa.Uuid(), nullable=False),
    sa.Column('ad_id', sa.Uuid(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('spend_minor', sa.BigInteger(), nullable=False),
    sa.Column('value_minor', sa.BigInteger(), nullable=False),
    sa.Column('roas', sa.Float(), nullable=True),
    sa.Column('prob_best', sa.Float(), nullable=True),
    sa.Column('current_budget_minor', sa.BigInteger(), nullable=False),
    sa.Column('target_budget_minor', sa.BigInteger(), nullable=True),
    sa.Column('change_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['ads.id'], name=op.f('fk_ad_decisions_ad_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['evaluation_id'], ['ad_evaluations.id'], name=op.f('fk_ad_decisions_evaluation_id_ad_evaluations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_decisions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_decisions'))
    )
    with op.batch_alter_table('ad_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_decisions_ad_id'), ['ad_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ad_decisions_evaluation_id'), ['evaluation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ad_decisions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ad_metrics_daily',
    sa.Column('ad_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('spend_minor', sa.BigInteger(), nullable=False),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=False),
    sa.Column('impressions', sa.BigInteger(), nullable=False),
    sa.Column('clicks', sa.BigInteger(), nullable=False),
    sa.Column('conversions', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['ads.id'], name=op.f('fk_ad_metrics_daily_ad_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_metrics_daily_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_metrics_daily')),
    sa.UniqueConstraint('ad_id', 'day', name='uq_ad_metrics_daily_ad_day')
    )
    with op.batch_alter_table('ad_metrics_daily', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_metrics_daily_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ad_conversions',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('click_ref', sa.String(length=500), nullable=True),
    sa.Column('email_sha256', sa.String(length=64), nullable=True),
    sa.Column('phone_sha256', sa.String(length=64), nullable=True),
    sa.Column('ip_sha256', sa.String(length=64), nullable=True),
    sa.Column('ua_sha256', sa.String(length=64), nullable=True),
    sa.Column('ad_id', sa.Uuid(), nullable=True),
    sa.Column('click_id', sa.Uuid(), nullable=True),
    sa.Column('layer', sa.String(length=20), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('match_details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['ads.id'], name=op.f('fk_ad_conversions_ad_id_ads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['click_id'], ['ad_clicks.id'], name=op.f('fk_ad_conversions_click_id_ad_clicks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_conversions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_conversions')),
    sa.UniqueConstraint('tenant_id', 'source', 'external_id', name='uq_ad_conversions_external')
    )
    with op.batch_alter_table('ad_conversions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_conversions_ad_id'), ['ad_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ad_conversions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_ad_conversions_tenant_time', ['tenant_id', 'occurred_at'], unique=False)

    op.create_table('pending_ad_changes',
    sa.Column('ad_id', sa.Uuid(), nullable=False),
    sa.Column('decision_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_budget_minor', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('jitter_s', sa.Float(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claim_token', sa.Uuid(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('hold_reason', sa.Text(), nullable=True),
    sa.Column('applied_budget_minor', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['ads.id'], name=op.f('fk_pending_ad_changes_ad_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['ad_decisions.id'], name=op.f('fk_pending_ad_changes_decision_id_ad_decisions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_pending_ad_changes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_ad_changes'))
    )
    with op.batch_alter_table('pending_ad_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_ad_changes_ad_id'), ['ad_id'], unique=False)
        batch_op.create_index('ix_pending_ad_changes_claim', ['status', 'not_before'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_ad_changes_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ad_change_history',
    sa.Column('change_id', sa.Uuid(), nullable=True),
    sa.Column('ad_id', sa.Uuid(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('guard', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('from_budget_minor', sa.BigInteger(), nullable=True),
    sa.Column('to_budget_minor', sa.BigInteger(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['ads.id'], name=op.f('fk_ad_change_history_ad_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['change_id'], ['pending_ad_changes.id'], name=op.f('fk_ad_change_history_change_id_pending_ad_changes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_change_history_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_change_history'))
    )
    with op.batch_alter_table('ad_change_history', schema=None) as batch_op:
        batch_op.create_index('ix_ad_change_history_ad_time', ['ad_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ad_change_history_change_id'), ['change_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ad_change_history_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('crm_deals',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('pipeline_id', sa.String(length=100), nullable=False),
    sa.Column('stage_id', sa.String(length=100), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('deal_created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('properties', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('conversion_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['conversion_id'], ['ad_conversions.id'], name=op.f('fk_crm_deals_conversion_id_ad_conversions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_crm_deals_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_deals')),
    sa.UniqueConstraint('tenant_id', 'source', 'external_id', name='uq_crm_deals_external')
    )
    with op.batch_alter_table('crm_deals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_deals_conversion_id'), ['conversion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_deals_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('crm_deals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_deals_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_crm_deals_conversion_id'))

    op.drop_table('crm_deals')
    with op.batch_alter_table('ad_change_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_change_history_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_ad_change_history_change_id'))
        batch_op.drop_index('ix_ad_change_history_ad_time')

    op.drop_table('ad_change_history')
    with op.batch_alter_table('pending_ad_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_ad_changes_tenant_id'))
        batch_op.drop_index('ix_pending_ad_changes_claim')
        batch_op.drop_index(batch_op.f('ix_pending_ad_changes_ad_id'))

    op.drop_table('pending_ad_changes')
    with op.batch_alter_table('ad_conversions', schema=None) as batch_op:
        batch_op.drop_index('ix_ad_conversions_tenant_time')
        batch_op.drop_index(batch_op.f('ix_ad_conversions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_ad_conversions_ad_id'))

    op.drop_table('ad_conversions')
    with op.batch_alter_table('ad_metrics_daily', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_metrics_daily_tenant_id'))

    op.drop_table('ad_metrics_daily')
    with op.batch_alter_table('ad_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_decisions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_ad_decisions_evaluation_id'))
        batch_op.drop_index(batch_op.f('ix_ad_decisions_ad_id'))

    op.drop_table('ad_decisions')
    with op.batch_alter_table('ad_clicks', schema=None) as batch_op:
        batch_op.drop_index('ix_ad_clicks_tenant_time')
        batch_op.drop_index(batch_op.f('ix_ad_clicks_tenant_id'))
        batch_op.drop_index('ix_ad_clicks_phone')
        batch_op.drop_index('ix_ad_clicks_gclid')
        batch_op.drop_index('ix_ad_clicks_fbclid')
        batch_op.drop_index('ix_ad_clicks_email')
        batch_op.drop_index(batch_op.f('ix_ad_clicks_ad_id'))

    op.drop_table('ad_clicks')
    with op.batch_alter_table('ads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ads_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_ads_account_id'))

    op.drop_table('ads')
    with op.batch_alter_table('crm_webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_webhook_events_tenant_id'))

    op.drop_table('crm_webhook_events')
    with op.batch_alter_table('crm_stages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_stages_tenant_id'))

    op.drop_table('crm_stages')
    with op.batch_alter_table('ads_tenant_config', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ads_tenant_config_tenant_id'))

    op.drop_table('ads_tenant_config')
    with op.batch_alter_table('ad_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_evaluations_tenant_id'))

    op.drop_table('ad_evaluations')
    with op.batch_alter_table('ad_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_accounts_tenant_id'))

    op.drop_table('ad_accounts')
