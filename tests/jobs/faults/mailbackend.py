"""An e-mail backend for the fault drills: one file per message, named by its Message-ID.

A resend of the same message (same Message-ID) gets a numbered sibling file instead of
overwriting, so the drill counts both the distinct messages and the raw resends. Safe across
processes: files are created with O_EXCL.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


def message_files(directory: Path) -> tuple[int, int]:
    """(raw files, distinct Message-IDs) in a drill's mail folder."""
    names = [p.name for p in directory.iterdir() if p.suffix == ".eml"]
    return len(names), len({name.split(".")[0] for name in names})


class MessageIdFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:  # type: ignore[no-untyped-def]
        directory = Path(settings.EMAIL_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            raw = message.message()
            message_id = str(raw["Message-ID"])
            stem = hashlib.sha256(message_id.encode()).hexdigest()[:32]
            data = raw.as_bytes(linesep="\n")
            for copy in range(1000):
                name = f"{stem}.eml" if copy == 0 else f"{stem}.{copy}.eml"
                try:
                    fd = os.open(directory / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    continue
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                break
            sent += 1
        return sent
