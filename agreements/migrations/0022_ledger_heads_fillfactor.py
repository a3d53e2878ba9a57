from django.db import migrations


def heads_leave_room(apps, schema_editor):
    # A chain head is rewritten by every answer and every deemed row, in columns no index
    # covers: with room left on its page PostgreSQL updates it in place (a HOT update, no new
    # index entries) instead of writing a new tuple elsewhere and updating both indexes.
    # Pages written before this keep no room until rewritten (docs/operations.md).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE agreements_ledgerhead SET (fillfactor = 70)")


def heads_fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE agreements_ledgerhead RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("agreements", "0021_ledger_state_indexes")]

    operations = [
        migrations.RunPython(heads_leave_room, heads_fill),
        migrations.AlterModelOptions(
            name="consentrecord",
            options={
                "ordering": ["tenant_id", "seq"],
                "verbose_name": "同意台帳",
                "verbose_name_plural": "同意台帳",
            },
        ),
    ]
