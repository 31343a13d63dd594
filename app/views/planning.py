"""Planning helpers: copy last period's SKP, RHK templates per position (app/workflow/planning.py)."""

from flask import Blueprint

bp = Blueprint("planning", __name__)
