"""Monitoring stage routes: progress (services in app/workflow/monitoring/ and app/workflow/planning.py)."""

from flask import Blueprint

bp = Blueprint("progress", __name__)
