"""Knowledge domain: documents, chunks, hybrid search, the pattern library and the winner index."""
