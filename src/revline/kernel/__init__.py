"""Shared kernel: config, database, tenancy, jobs, HTTP and LLM access. Imports no domain."""
