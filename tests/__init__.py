"""The test suite (a package, so helper modules are imported by their full name)."""
