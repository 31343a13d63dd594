"""Monitoring stage routes: peers (services in app/workflow/monitoring/ and app/workflow/planning.py)."""

from flask import Blueprint

bp = Blueprint("peers", __name__)
