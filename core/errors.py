"""The domain error that services raise; views turn it into a form error or a 4xx."""


class DomainError(Exception):
    """A rule of the domain refused the request. `message` is shown to the user as is;
    `code` is stable (tests and API clients match on it, never on the wording)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def add_to(self, form) -> None:
        """Show the message on the form: next to its field, or above the form."""
        from django.core.exceptions import ValidationError

        form.add_error(
            self.field if self.field in form.fields else None,
            ValidationError(self.message, code=self.code),
        )
