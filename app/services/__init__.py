"""Services: plain functions that change the data, callable without a request."""


class Refused(Exception):
    """A change was refused; `errors` maps a field name (or "" for the whole form) to why."""

    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"": errors}
        self.errors = errors
        super().__init__("; ".join(errors.values()))


class Conflict(Refused):
    """Refused because the record changed since the form was rendered (optimistic locking)."""
