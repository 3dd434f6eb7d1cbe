"""Model registry: versions, champion/challenger aliases, sticky traffic split, promotion."""
