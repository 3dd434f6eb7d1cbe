"""Clients for paid website-analysis APIs, one file per vendor; each returns plain dicts."""

from __future__ import annotations

from revline.leads.enrich.adapters.base import AdapterResult
from revline.leads.enrich.adapters.pagespeed import PageSpeedAdapter
from revline.leads.enrich.adapters.screenshotone import ScreenshotOneAdapter
from revline.leads.enrich.adapters.semrush import SemrushAdapter

__all__ = ["AdapterResult", "PageSpeedAdapter", "ScreenshotOneAdapter", "SemrushAdapter"]
