"""One exception type the CLI turns into a single clear message (never a traceback)."""


class TrustbenchError(Exception):
    """A user-facing error: the message names the problem and where it is."""


# Exit statuses (README "Exit status"): 0 complete; 1 unexpected error; 2 bad input or usage, nothing run;
# 3 the run finished but is incomplete (items failed or were not judged, or metrics have no value).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
