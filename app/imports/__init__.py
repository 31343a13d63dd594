"""Data coming in: files read, checked against the database and applied (CSV of people and units)."""
