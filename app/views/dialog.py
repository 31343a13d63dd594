"""Monitoring stage routes: dialog (services in app/workflow/monitoring/ and app/workflow/planning.py)."""

from flask import Blueprint

bp = Blueprint("dialog", __name__)
