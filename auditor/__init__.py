"""paragon-auditor: compliance auditor and drift checker for Dispatcher Paragon clusters."""

__version__ = "0.1.0"
