"""Backfill ConsentState.bound: rows of tenants bound now by their document (an active
contract for the product, and the option for individual rules), and a `no_answer` row for a
bound tenant that has none yet under the version the document's rows follow."""

from django.db import migrations


def backfill(apps, schema_editor):
    ConsentState = apps.get_model("agreements", "ConsentState")
    Contract = apps.get_model("agreements", "Contract")
    TermsDocument = apps.get_model("agreements", "TermsDocument")
    Tenant = apps.get_model("tenants", "Tenant")
    for document in TermsDocument.objects.all().iterator():
        contracts = Contract.objects.filter(status="active", product_id=document.product_id)
        if document.option_id is not None:
            contracts = contracts.filter(options=document.option_id)
        bound = Tenant.objects.filter(pk__in=contracts.values("tenant_id"))
        rows = ConsentState.objects.filter(document=document)
        rows.filter(tenant_id__in=bound.values("pk")).update(bound=True)
        follows = (
            rows.order_by("-version__effective_on", "-version_id")
            .values_list("version_id", flat=True)
            .first()
        )
        if follows is None:
            continue
        missing = bound.exclude(pk__in=rows.values("tenant_id")).values_list("pk", flat=True)
        ConsentState.objects.bulk_create(
            [
                ConsentState(
                    tenant_id=tenant_id,
                    document=document,
                    version_id=follows,
                    status="no_answer",
                    bound=True,
                )
                for tenant_id in missing.iterator()
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [("agreements", "0014_consent_state_bound"), ("tenants", "0001_initial")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
