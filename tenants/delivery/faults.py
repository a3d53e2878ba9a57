"""Test hook for the fault drills: stop a delivering process after a set number of sends."""

from __future__ import annotations

import logging
import os
import signal
import time

from django.conf import settings

logger = logging.getLogger(__name__)


class _Sends:
    in_process = 0  # e-mails this process has handed to the backend


def fault_point() -> None:
    """Called after each e-mail handed to the backend; off unless settings.TERMS_FAULT_HOOK.

    Only the fault-test settings set it. `kill_self` SIGKILLs this process (a prefork child),
    `kill_parent` its parent (the worker's main process), `pause` blocks until the drill has
    restarted a server.
    """
    hook = getattr(settings, "TERMS_FAULT_HOOK", "")
    if not hook:
        return
    _Sends.in_process += 1
    if _Sends.in_process != int(getattr(settings, "TERMS_FAULT_AFTER_SENDS", 0)):
        return
    marker_dir = str(getattr(settings, "TERMS_FAULT_DIR", ""))  # set with the hook
    marker = os.path.join(marker_dir, "fired")
    try:
        # O_EXCL: the hook fires once per drill, not again in the restarted worker.
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    logger.warning("fault hook %s after %s sends (pid %s)", hook, _Sends.in_process, os.getpid())
    if hook == "kill_self":
        os.kill(os.getpid(), signal.SIGKILL)
    elif hook == "kill_parent":
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)  # the drill kills what is left of the worker
    elif hook == "pause":
        resume = os.path.join(marker_dir, "resume")
        deadline = time.monotonic() + 120
        while not os.path.exists(resume) and time.monotonic() < deadline:
            time.sleep(0.05)
