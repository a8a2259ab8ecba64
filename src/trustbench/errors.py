"""One exception type the CLI turns into a single clear message (never a traceback)."""


class TrustbenchError(Exception):
    """A user-facing error: the message names the problem and where it is."""
