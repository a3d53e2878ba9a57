"""Versions of products other than Optimal Biz lose the Biz change clause they were given by
the old field default (R2): the OPTiM ID+ terms available contain no change clause, so its
revisions rest on CC 548-4 alone and cite none. The clause is classification, not text: the
body hash does not cover it, so posted versions stay what their answers cite."""

from django.db import migrations

BIZ_CLAUSE = "第２条（本規約の変更）"
BIZ = "optimal-biz"


def clear_borrowed_clause(apps, schema_editor):
    TermsVersion = apps.get_model("agreements", "TermsVersion")
    TermsVersion.objects.filter(change_clause=BIZ_CLAUSE).exclude(
        document__product__code=BIZ
    ).update(change_clause="")


def restore_borrowed_clause(apps, schema_editor):
    TermsVersion = apps.get_model("agreements", "TermsVersion")
    TermsVersion.objects.filter(change_clause="").exclude(document__product__code=BIZ).update(
        change_clause=BIZ_CLAUSE
    )


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0010_version_change_clause_no_default"),
    ]

    operations = [
        migrations.RunPython(clear_borrowed_clause, restore_borrowed_clause),
    ]
