"""The domain error that services raise; views turn it into a form error or a 4xx."""


class DomainError(Exception):
    """A rule of the domain refused the request. `message` is shown to the user as is;
    `code` is stable for tests and callers."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def add_to(self, form) -> None:
        """Show the message on the form: next to its field, or above the form."""
        from django.core.exceptions import ValidationError

        error = ValidationError(self.message, code=self.code)
        form.add_error(self.field if self.field in form.fields else None, error)
