"""Workflows domain: requirement to Dify DSL generation, strict validation and history."""
