from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.enums import CheckpointKind
from agreements.ledger.checkpoints import checkpoint_create, checkpoint_document
from agreements.ledger.keys import (
    CheckpointKeyInvalid,
    CheckpointKeyMissing,
    key_id,
    private_b64,
    public_b64,
)


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the ledger's chain heads now (docs/ledger.md) with the key from "
        "TERMS_CHECKPOINT_KEY / TERMS_CHECKPOINT_KEY_FILE. --new-key prints a fresh key pair "
        "instead and writes nothing (docs/operations.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", metavar="FILE", help="also write the checkpoint with its heads as JSON"
        )
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="print a new Ed25519 key pair (private and public, base64) and exit",
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["new_key"]:
            key = Ed25519PrivateKey.generate()
            public = key.public_key()
            self.stdout.write(f"TERMS_CHECKPOINT_KEY={private_b64(key)}")
            self.stdout.write(f"public key: {public_b64(public)}")
            self.stdout.write(f"key id:     {key_id(public)}")
            return
        try:
            checkpoint = checkpoint_create(kind=CheckpointKind.MANUAL)
        except (CheckpointKeyMissing, CheckpointKeyInvalid) as exc:
            raise CommandError(str(exc)) from exc
        if options["output"]:
            document = checkpoint_document(checkpoint)
            Path(options["output"]).write_text(json.dumps(document, indent=2) + "\n")
        self.stdout.write(
            self.style.SUCCESS(
                f"checkpoint {checkpoint.number}: {checkpoint.heads_count} chains as of "
                f"{checkpoint.as_of.isoformat()}, key {checkpoint.key_id}, "
                f"digest {checkpoint.digest}"
            )
        )
