"""Fault injection for crash-safety tests: `crash_point(name)` kills the process with SIGKILL when the
environment variable CERTNET_CRASH_AT names that point (e.g. `signed`). Inert otherwise."""

from __future__ import annotations

import os
import signal

CRASH_ENV = "CERTNET_CRASH_AT"

#: The points, in pipeline order: while a batch is being written (before its commit), after it is formed,
#: after its transaction is recorded (not yet broadcast), after the broadcast, after the receipt is seen (not
#: yet recorded), after an action is signed and recorded (not yet broadcast).
POINTS = ("batching", "batched", "signed", "broadcast", "mined", "action_signed")
#: The points of bulk issuance (`certnet.issuer.bulk`): after a batch's file is written, after its root is sent.
BULK_POINTS = ("bulk_written", "bulk_sent")


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
