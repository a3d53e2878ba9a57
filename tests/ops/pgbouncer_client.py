"""One client of the PgBouncer test (tests/ops/test_pgbouncer.py): a Django process whose
DATABASE_URL is PgBouncer in transaction mode, doing what web, worker and commands do.

    python tests/ops/pgbouncer_client.py '{"version": 1, "memberships": [..], "mine": 3, ...}'

Prints one JSON line with what it did; exits non-zero on the first error.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from io import StringIO

import django


def main(spec: dict) -> dict:
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from agreements.enums import Answer
    from agreements.ledger.verify import ledger_verify
    from agreements.models import TermsVersion
    from agreements.selectors.consents import tenant_is_allowed
    from agreements.services.consents.answers import consent_answer
    from core import clock
    from tenants.models import Membership
    from tenants.scope import Scope

    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    done = {"answers_created": 0, "status_checks": 0, "verified": 0, "migrate_checks": 0}
    version = TermsVersion.objects.select_related("document__product").get(pk=spec["version"])
    product = version.document.product
    membership = Membership.objects.select_related("tenant", "user").get(pk=spec["mine"])
    answer_at = datetime.fromisoformat(spec["answer_at"])
    for _round in range(spec["rounds"] if spec["phase"] == "answers" else 0):
        with clock.frozen_at(answer_at):
            _record, created = consent_answer(
                scope=Scope.tenant_user(membership),
                tenant=membership.tenant,
                version=version,
                answer=Answer.ACCEPTED,
            )
        done["answers_created"] += int(created)
        for member in Membership.objects.filter(pk__in=spec["memberships"]).select_related(
            "tenant"
        ):
            tenant_is_allowed(scope=Scope.system(), tenant=member.tenant, product=product)
            done["status_checks"] += 1
        # QuerySet.iterator() underneath: a server-side cursor would break under pooling.
        problems = ledger_verify()
        assert problems == [], problems
        done["verified"] += 1
        call_command("migrate", "--check", verbosity=0)  # exits non-zero when one is pending
        done["migrate_checks"] += 1
    if spec["phase"] == "answers":
        return done
    # The effective-date job, claimed by every client at once: SELECT … FOR UPDATE SKIP LOCKED
    # and leases inside transactions, exactly once whoever wins.
    out = StringIO()
    call_command("run_lifecycle", "--today", spec["effective_on"], "--json", "--future", stdout=out)
    done["lifecycle"] = json.loads(out.getvalue().strip().splitlines()[-1])["jobs"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('application_name')")
        done["application_name"] = cursor.fetchone()[0]
    return done


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
