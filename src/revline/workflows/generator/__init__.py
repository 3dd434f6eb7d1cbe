"""The workflow generator: requirement -> requirements, architecture, configuration, quality
steps (or retrieval without an LLM) -> repaired, validated and scored Dify DSL."""
