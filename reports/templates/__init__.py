"""Jinja2 templates for the HTML report (mapped into the package as auditor.report_templates)."""
