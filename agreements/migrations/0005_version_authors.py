"""The authors of each version (four eyes by authorship), filled for open drafts from the
audit rows their draft services wrote, so that nobody who already shaped a draft can
schedule it after the upgrade."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Audit data keys of a draft update that classify the change (version_authors.CLASSIFYING_FIELDS).
CLASSIFYING = {"categories", "consent_mode", "legal_basis", "rationale", "change_clause"}


def authors_from_audit(apps, schema_editor):
    TermsVersion = apps.get_model("agreements", "TermsVersion")
    VersionAuthor = apps.get_model("agreements", "VersionAuthor")
    AuditEntry = apps.get_model("core", "AuditEntry")
    drafts = TermsVersion.objects.filter(status="draft")
    for version in drafts.iterator():
        entries = AuditEntry.objects.filter(
            object_type="agreements.termsversion",
            object_id=version.pk,
            actor__isnull=False,
            action__in=["create", "update", "remove", "import"],
        ).order_by("at", "pk")
        rows = {}
        for entry in entries.select_related("actor"):
            if entry.action in ("create", "import") and ":" not in entry.summary:
                role = "created"
            elif entry.action == "update" and set(entry.data or {}) & CLASSIFYING:
                role = "classified"
            else:
                role = "edited"
            row = rows.get((entry.actor_id, role))
            if row is None:
                rows[(entry.actor_id, role)] = VersionAuthor(
                    version=version,
                    user_id=entry.actor_id,
                    user_label=entry.actor.username,
                    role=role,
                    subjects=["audit"],
                    changes=1,
                    first_at=entry.at,
                    last_at=entry.at,
                )
            else:
                row.changes += 1
                row.last_at = entry.at
        VersionAuthor.objects.bulk_create(rows.values())


class Migration(migrations.Migration):

    dependencies = [
        ('agreements', '0004_check_jobs_planned_actions'),
        ('core', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='VersionAuthor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_label', models.CharField(max_length=150, verbose_name='担当者')),
                ('role', models.CharField(choices=[('created', '作成'), ('edited', '編集'), ('classified', '分類')], max_length=16, verbose_name='関与')),
                ('subjects', models.JSONField(blank=True, default=list, verbose_name='変更箇所')),
                ('changes', models.PositiveIntegerField(default=1, verbose_name='変更回数')),
                ('first_at', models.DateTimeField(verbose_name='最初の変更')),
                ('last_at', models.DateTimeField(verbose_name='最後の変更')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='version_authorships', to=settings.AUTH_USER_MODEL)),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='authors', to='agreements.termsversion')),
            ],
            options={
                'verbose_name': '版の作成・編集者',
                'verbose_name_plural': '版の作成・編集者',
                'ordering': ['version', 'first_at', 'id'],
                'constraints': [models.UniqueConstraint(fields=('version', 'user', 'role'), name='version_author_unique_role'), models.CheckConstraint(condition=models.Q(('role__in', ['created', 'edited', 'classified'])), name='version_author_role_valid')],
            },
        ),
        migrations.RunPython(authors_from_audit, migrations.RunPython.noop),
    ]
