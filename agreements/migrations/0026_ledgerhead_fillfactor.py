from django.db import migrations

from agreements.db import heads_fillfactor_statements


def heads_fillfactor(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for sql in heads_fillfactor_statements(schema_editor.connection.vendor, fillfactor=50):
            cursor.execute(sql)


def heads_fillfactor_default(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for sql in heads_fillfactor_statements(schema_editor.connection.vendor, fillfactor=100):
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0025_deletion_channel"),
    ]

    operations = [
        migrations.RunPython(heads_fillfactor, heads_fillfactor_default),
    ]
