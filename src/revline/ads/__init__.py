"""Ads domain: budget optimizer, attribution, CRM pipeline value and the safe change executor."""
