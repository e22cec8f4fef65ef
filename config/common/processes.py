"""Child processes that never outlive their parent."""

import signal
import sys


def die_with_parent() -> None:
    """`preexec_fn` for a child: on Linux it gets SIGTERM when the parent dies, however it dies
    (a SIGKILL of `serve` or of the test runner included)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
