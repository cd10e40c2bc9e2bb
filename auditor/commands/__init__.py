"""One module per CLI command; each exposes ``command`` (discovered by auditor.cli)."""
