from django.db import migrations

from agreements.db import ledger_trigger_statements


def _run(schema_editor, *, create: bool) -> None:
    # A plain cursor: the PL/pgSQL body contains '%' placeholders of its own.
    with schema_editor.connection.cursor() as cursor:
        for sql in ledger_trigger_statements(schema_editor.connection.vendor, create=create):
            cursor.execute(sql)


def create(apps, schema_editor):
    _run(schema_editor, create=True)


def drop(apps, schema_editor):
    _run(schema_editor, create=False)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
