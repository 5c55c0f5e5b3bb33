"""The domain error that services raise; views turn it into a form error or a 4xx."""


class DomainError(Exception):
    """A rule of the domain refused the request. `message` is shown to the user as is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
