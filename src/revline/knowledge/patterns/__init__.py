"""The workflow/automation pattern library: schema, bundled library, per-tenant seeding."""
