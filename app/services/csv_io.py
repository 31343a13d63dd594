"""CSV import and export of org units and employees (being written; replace this whole file)."""

KINDS = ("employees", "units")
