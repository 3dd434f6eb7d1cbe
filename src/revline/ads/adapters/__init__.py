"""Clients for external APIs, one file per vendor: Meta Marketing API and HubSpot CRM."""
