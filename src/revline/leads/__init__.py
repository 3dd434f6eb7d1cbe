"""Leads domain: import, validate, enrich, classify, dedupe, score, export."""
