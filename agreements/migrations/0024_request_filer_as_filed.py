"""The filer of a customer request as the receipt names them, frozen at filing (R13): name,
title and address. Requests filed before this migration keep NULL ("not recorded"): their
receipts name the account by its address only, never by a name the person holds today."""

from django.db import migrations, models

MODELS = ("nonrenewalrequest", "termination", "datadeletion")
FIELDS = (
    ("filer_name", "申込者の氏名", 255),
    ("filer_title", "申込者の役職", 255),
    ("filer_email", "申込者のメールアドレス", 254),
)


def _field(verbose_name: str, max_length: int, **extra: object) -> models.CharField:
    return models.CharField(
        blank=True, null=True, max_length=max_length, verbose_name=verbose_name, **extra
    )


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0023_ledger_version_tenant_index"),
    ]

    # Added without a default, so the rows already there stay NULL (not recorded); new rows
    # get "" unless the filing service records the person.
    operations = [
        migrations.AddField(model_name=model, name=name, field=_field(label, length))
        for model in MODELS
        for name, label, length in FIELDS
    ] + [
        migrations.AlterField(model_name=model, name=name, field=_field(label, length, default=""))
        for model in MODELS
        for name, label, length in FIELDS
    ]
