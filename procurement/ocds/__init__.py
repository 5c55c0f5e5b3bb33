"""Open Contracting Data Standard 1.1: the releases of each process, their packages and
records, the portal's extension and the official schemas (shipped here, never fetched)."""
