"""Document ingestion: readers, structure-aware chunking, sources and the ingest pipeline."""
