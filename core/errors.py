"""The domain error that services raise; views turn it into a form error or a 4xx."""


class DomainError(Exception):
    """A rule of the domain refused the request. `message` is shown to the user as is."""

    def __init__(self, message: str, *, field: str | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code  # stable, for tests and API clients (the message is translated)

    def add_to(self, form) -> None:
        """Show the message on the form: next to its field, or above the form."""
        form.add_error(self.field if self.field in form.fields else None, self.message)
