"""Monitoring stage: the coaching trigger (see app/workflow/monitoring/__init__.py)."""
