"""The one notification path: tell tenants (and their partners) and the staff mailbox.

`notify` writes, in the caller's transaction and set-based (a constant number of queries per
batch of tenants): an Event per tenant note (the partner's feed), an e-mail outbox row per
recipient (tenant_recipients: the tenant's admins, its contact address and its further
notification contacts, each in its language), a webhook
outbox row per active endpoint of the tenant's partner, e-mails to the staff mailbox and to
single addresses (an invitation), and rings delivery once, on commit. Delivery happens later,
at least once, from the outbox (tenants.delivery); what each kind's e-mail looks like is
tenants.delivery.kinds.

Payloads must be JSON-serialisable (dates as ISO strings).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Value

from core import clock, generations, prepared, sandbox
from core.enums import OutboxChannel
from core.events import event_envelope
from core.inserts import insert_values
from core.models import Event, Outbox
from core.outbox import delivery_ring_on_commit
from tenants.enums import Role
from tenants.models import Membership, NotificationContact, Tenant, WebhookEndpoint

BATCH_SIZE = 1000


def tenant_recipients(tenants: Iterable[Tenant]) -> dict[int, list[tuple[str, str]]]:
    """Who gets each tenant's notices, as (address, language) pairs: its admins, its contact
    address and its further notification contacts (NotificationContact), each address once
    (compared without case), admins and the contact address in the tenant's language, a
    further contact in its own where it chose one. The one answer to "who is told": notify
    and the portal's contacts page both read it. One query for any number of tenants."""
    by_pk = {tenant.pk: tenant for tenant in tenants}
    if not by_pk:
        return {}
    admins = (
        Membership.objects.filter(tenant_id__in=by_pk, role=Role.ADMIN)
        .exclude(user__email="")
        .annotate(rank=Value(0), address=F("user__email"), language=Value(""))
        .values_list("tenant_id", "rank", "address", "language", "user_id")
    )
    contacts = (
        NotificationContact.objects.filter(tenant_id__in=by_pk)
        .annotate(rank=Value(2), address=F("email"), language=F("locale"))
        .values_list("tenant_id", "rank", "address", "language", "pk")
    )
    rows = sorted(admins.union(contacts, all=True), key=lambda row: (row[0], row[1], row[4]))
    found: dict[int, dict[str, str]] = defaultdict(dict)
    for tenant_id, rank, address, language, _order in rows:
        tenant = by_pk[tenant_id]
        if rank == 2 and tenant.contact_email:
            found[tenant_id].setdefault(tenant.contact_email.lower(), tenant.locale)
        found[tenant_id].setdefault(address.lower(), language or tenant.locale)
    for tenant in by_pk.values():  # the contact address of a tenant without further contacts
        if tenant.contact_email:
            found[tenant.pk].setdefault(tenant.contact_email.lower(), tenant.locale)
    return {tenant_id: list(addresses.items()) for tenant_id, addresses in found.items()}


@dataclass(frozen=True)
class Note:
    """One occurrence told to one tenant; `key` identifies the occurrence (e.g.
    "version:12:posted"): with the kind, the tenant and the recipient it makes the outbox rows
    unique, so telling the same occurrence twice queues nothing new."""

    kind: str
    tenant: Tenant
    key: str
    payload: dict[str, Any]
    subject: Any = None


@dataclass(frozen=True)
class StaffNote:
    """An e-mail to the legal/ops mailbox (e.g. a lapsed revision, R2); no event."""

    kind: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class AddressNote:
    """An e-mail about `tenant` to one address that is not (yet) among its recipients, e.g. an
    invitation; no event and no webhook. The outbox key is "<kind>:<key>"."""

    kind: str
    tenant: Tenant
    key: str
    recipient: str
    payload: dict[str, Any]


@dataclass
class Notified:
    """What notify wrote."""

    tenants: int = 0  # tenant notes written
    first_event: Event | None = None  # the event of the first tenant note
    # Per tenant note, the id of its first outbox row (an e-mail, else a webhook), or None when
    # the tenant has no recipient; filled only when notify is asked for them.
    outbox_ids: list[int | None] = field(default_factory=list)


def dedupe_key(kind: str, key: str, tenant_id: int, tail: str) -> str:
    """The outbox key of one message of one occurrence to one tenant's recipient.

    It names the tenant: one occurrence (a notice posted to every bound tenant) reaches each
    tenant's admins and each tenant's partner webhook, even when two tenants share an address
    or a partner. Keys longer than the column are shortened with a digest of the whole key.
    """
    full = f"{kind}:{key}:tenant:{tenant_id}:{tail}"
    if len(full) <= 255:
        return full
    return f"{full[:190]}:{hashlib.sha256(full.encode()).hexdigest()}"


def notify(
    notes: Iterable[Note] = (),
    *,
    staff: Iterable[StaffNote] = (),
    addresses: Iterable[AddressNote] = (),
    email: bool = True,
    webhook: bool = True,
    outbox_ids: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Notified:
    """Write the events and outbox rows of `notes`, `staff` and `addresses`; ring delivery once.

    Tenant notes are written in batches of `batch_size` with four queries per batch (events,
    admins' addresses, partners' endpoints, outbox rows) whatever the batch holds. A message
    queued before (same outbox key) is left as it is, and the event is written again: the
    partner's feed records each time it was told. With `outbox_ids`, the rows queued before are
    touched (updated_at) so that their ids come back as well: the delivery reference a
    termination stores (R14).
    """
    result = Notified()
    extra = [_staff_row(note) for note in staff] + [_address_row(note) for note in addresses]
    queued = False
    batches = _batches(iter(notes), batch_size)
    for batch in batches:
        events, rows = _rows(
            [(n.kind, n.tenant, n.key, n.payload, n.subject) for n in batch],
            email=email,
            webhook=webhook,
        )
        if result.first_event is None and events:
            result.first_event = events[0]
        rows += [(-1, row) for row in extra]
        extra = []
        ids = _insert(rows, returning=outbox_ids)
        if outbox_ids:
            result.outbox_ids += _first_per_note(rows, ids, len(batch))
        queued = queued or bool(rows)
        result.tenants += len(batch)
    if extra:
        _insert([(-1, row) for row in extra], returning=False)
        queued = True
    if queued:
        delivery_ring_on_commit()
    return result


def notify_one(note: Note) -> Notified:
    """notify([note]) in one statement on PostgreSQL: the event, the tenant's recipients and
    the outbox rows (e-mails and the partner's webhooks) in one INSERT ... SELECT, for the hot
    paths that tell one tenant one thing (the consent answer). The rows are the ones notify
    writes, recipients as tenant_recipients chooses them (tests hold the two equal); elsewhere
    it is notify([note])."""
    if connection.vendor != "postgresql":
        return notify([note])
    tenant = note.tenant
    kind = str(note.kind)
    now = clock.now()
    body = _body(tenant, note.payload)
    event = _event(kind, tenant, note.subject, body, now)
    hooks = [
        endpoint
        for endpoint in (
            _active_endpoints({tenant.partner_id}).get(tenant.partner_id, [])
            if tenant.partner_id is not None
            else []
        )
        if not endpoint.event_kinds or kind in endpoint.event_kinds
    ]
    template = Outbox(
        kind=kind,
        channel=OutboxChannel.EMAIL,
        dedupe_key="",
        payload=body,
        recipient="",
        tenant_id=tenant.pk,
        partner_id=tenant.partner_id,
        next_attempt_at=now,
    )
    event_columns, event_values = insert_values(event)
    outbox_columns, outbox_values = insert_values(template)
    # The columns each message sets itself; the others are the template's.
    own = {
        "channel": "m.channel",
        "dedupe_key": "m.dedupe_key",
        "recipient": "m.recipient",
        "webhook_endpoint_id": "m.endpoint_id",
        "locale": "m.locale",
        "payload": "m.payload",
        "event_id": "ev.id",
    }
    select = ", ".join(own.get(column, "%s") for column in outbox_columns)
    shared = [
        v for column, v in zip(outbox_columns, outbox_values, strict=True) if column not in own
    ]
    hook_rows = ", ".join(["(%s, %s, %s::bigint)"] * len(hooks))
    hook_params: list[Any] = []
    for endpoint in hooks:
        hook_params += [
            dedupe_key(kind, note.key, tenant.pk, f"webhook:{endpoint.pk}"),
            endpoint.url,
            endpoint.pk,
        ]
    webhooks = (
        "UNION ALL SELECT %s, h.dedupe_key, h.url, h.endpoint_id, %s, "  # noqa: S608 -- placeholders only
        "jsonb_set(%s::jsonb, '{id}', to_jsonb(ev.id)) "
        f"FROM (VALUES {hook_rows}) AS h(dedupe_key, url, endpoint_id), ev "
        if hooks
        else ""
    )
    q = connection.ops.quote_name
    user_table = Membership._meta.get_field("user").related_model._meta.db_table  # type: ignore[union-attr]
    sql = (
        f"WITH ev AS (INSERT INTO {q(Event._meta.db_table)} ({', '.join(map(q, event_columns))}) "  # noqa: S608 -- placeholders only
        f"VALUES ({', '.join(['%s'] * len(event_values))}) RETURNING id), "
        # tenant_recipients: its admins, its contact address, its further contacts; each
        # address once (without case), the first of these to name it deciding the language.
        "who AS (SELECT DISTINCT ON (lower(a.address)) lower(a.address) AS address, "
        "a.language, a.rank, a.ord FROM ("
        f"SELECT 0 AS rank, m.user_id AS ord, u.email AS address, %s AS language "
        f"FROM {q(Membership._meta.db_table)} m JOIN {q(user_table)} u ON u.id = m.user_id "
        "WHERE m.tenant_id = %s AND m.role = %s AND u.email <> '' "
        "UNION ALL SELECT 1, 0, %s, %s WHERE %s <> '' "
        "UNION ALL SELECT 2, c.id, c.email, COALESCE(NULLIF(c.locale, ''), %s) "
        f"FROM {q(NotificationContact._meta.db_table)} c WHERE c.tenant_id = %s"
        ") AS a ORDER BY lower(a.address), a.rank, a.ord), "
        "m AS ((SELECT %s AS channel, CASE WHEN char_length(%s || who.address) <= 255 "
        "THEN %s || who.address ELSE left(%s || who.address, 190) || ':' || "
        "encode(sha256(convert_to(%s || who.address, 'UTF8')), 'hex') END AS dedupe_key, "
        "who.address AS recipient, NULL::bigint AS endpoint_id, who.language AS locale, "
        "%s::jsonb AS payload FROM who ORDER BY who.rank, who.ord) "
        f"{webhooks}), "
        f"queued AS (INSERT INTO {q(Outbox._meta.db_table)} ({', '.join(map(q, outbox_columns))}) "
        f"SELECT {select} FROM m, ev ON CONFLICT (dedupe_key) DO NOTHING) "
        "SELECT (SELECT id FROM ev), (SELECT count(*) FROM m)"
    )
    email_key = dedupe_key(kind, note.key, tenant.pk, "email:")
    params: list[Any] = [
        *event_values,
        tenant.locale,
        tenant.pk,
        Role.ADMIN.value,
        tenant.contact_email,
        tenant.locale,
        tenant.contact_email,
        tenant.locale,
        tenant.pk,
        OutboxChannel.EMAIL.value,
        *[email_key] * 4,
        template._meta.get_field("payload").get_db_prep_save(body, connection),
    ]
    if hooks:
        webhook_locale = Outbox._meta.get_field("locale").get_default()
        params += [
            OutboxChannel.WEBHOOK.value,
            webhook_locale,
            template._meta.get_field("payload").get_db_prep_save(event_envelope(event), connection),
            *hook_params,
        ]
    params += shared
    with connection.cursor() as cursor:
        prepared.execute(cursor, sql, params)
        event_id, queued = cursor.fetchone()
    event.pk = event_id
    if queued:
        delivery_ring_on_commit()
    return Notified(tenants=1, first_event=event)


def _body(tenant: Tenant, payload: dict[str, Any]) -> dict[str, Any]:
    """A tenant note's payload as its event and e-mails carry it: the tenant named first."""
    return {"tenant_id": tenant.pk, "tenant_name": tenant.name, **payload}


def _event(kind: str, tenant: Tenant, subject: Any, body: dict[str, Any], now: datetime) -> Event:
    """The (unsaved) event of one tenant note: the partner's feed entry."""
    return Event(
        kind=kind,
        tenant_id=tenant.pk,
        partner_id=tenant.partner_id,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=getattr(subject, "pk", None),
        payload=body,
        occurred_at=now,
    )


def _batches(iterator: Iterator[Note], size: int) -> Iterator[list[Note]]:
    while batch := list(islice(iterator, size)):
        yield batch


def _insert(rows: list[tuple[int, Outbox]], *, returning: bool) -> dict[str, int]:
    """Insert the rows; a key queued before stays as it is. Returns {dedupe_key: id} when asked."""
    # PostgreSQL refuses one statement touching a row twice, and item-by-item queuing would
    # keep the first of two equal keys: drop repeats here first.
    unique: dict[str, Outbox] = {}
    for _index, row in rows:
        unique.setdefault(row.dedupe_key, row)
    if not unique:
        return {}
    if not returning:
        Outbox.objects.bulk_create(list(unique.values()), ignore_conflicts=True)
        return {}
    Outbox.objects.bulk_create(
        list(unique.values()),
        update_conflicts=True,
        unique_fields=["dedupe_key"],
        update_fields=["updated_at"],
    )
    return {key: row.pk for key, row in unique.items()}


def _first_per_note(
    rows: list[tuple[int, Outbox]], ids: dict[str, int], count: int
) -> list[int | None]:
    first: list[int | None] = [None] * count
    for index, row in rows:
        if 0 <= index < count and first[index] is None:
            first[index] = ids.get(row.dedupe_key)
    return first


def _staff_row(note: StaffNote) -> Outbox:
    return Outbox(
        kind=str(note.kind),
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"{note.kind}:{note.key}:staff",
        payload=note.payload,
        recipient=settings.TERMS_STAFF_EMAIL,
        # A note written for a sandbox (its run or its request) is about test data: the row
        # names the sandbox, so delivery logs it instead of mailing staff and the sandbox's
        # own delivery run finds it (tenants.delivery.outbox).
        partner_id=sandbox.current(),
        locale="ja",
        next_attempt_at=clock.now(),
    )


def _address_row(note: AddressNote) -> Outbox:
    tenant = note.tenant
    return Outbox(
        kind=str(note.kind),
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"{note.kind}:{note.key}",
        payload=_body(tenant, note.payload),
        recipient=note.recipient,
        tenant_id=tenant.pk,
        partner_id=tenant.partner_id,
        locale=tenant.locale,
        next_attempt_at=clock.now(),
    )


def endpoints_cache_entry(partner_id: int) -> tuple[str, list[str]]:
    """The cache entry of a partner's active endpoints and its generations (generations.lookup's
    shape): what an answer reads to know whether the partner has webhooks."""
    return f"webhooks:{partner_id}", [generations.partner_generation(partner_id)]


def _active_endpoints(partner_ids: set[int]) -> dict[int, list[WebhookEndpoint]]:
    """The partners' active endpoints, from the cache under each partner's generation (any
    endpoint saved or deleted bumps it: tenants.signals) in one round trip, else one query
    for the misses."""
    entries = {pid: endpoints_cache_entry(pid) for pid in partner_ids}
    found = generations.lookup(dict(entries.values()))
    result: dict[int, list[WebhookEndpoint]] = {}
    if found is not None:
        for pid, (entry, names) in entries.items():
            value = found.get(entry, names, list)
            if value is not generations.MISS:
                result[pid] = value
    missing = partner_ids - result.keys()
    if missing:
        loaded: dict[int, list[WebhookEndpoint]] = {pid: [] for pid in missing}
        # Only what an outbox row takes: secrets stay in the database, out of the cache.
        for pk, partner_id, url, kinds in (
            WebhookEndpoint.objects.filter(partner_id__in=missing, is_active=True)
            .order_by("pk")
            .values_list("pk", "partner_id", "url", "event_kinds")
        ):
            loaded[partner_id].append(
                WebhookEndpoint(pk=pk, partner_id=partner_id, url=url, event_kinds=kinds)
            )
        if found is not None:
            found.store_many(
                {entries[pid][0]: (entries[pid][1], listed) for pid, listed in loaded.items()},
                generations.SHORT_SECONDS,
            )
        result.update(loaded)
    return result


def _rows(
    entries: Sequence[tuple[str, Tenant, str, dict[str, Any], Any]],
    *,
    email: bool = True,
    webhook: bool = True,
) -> tuple[list[Event], list[tuple[int, Outbox]]]:
    """Write the events for `entries` (kind, tenant, key, payload, subject) and build their outbox rows.

    Three queries whatever the number of entries: the events (one INSERT), the recipients'
    addresses (tenant_recipients), the partners' active endpoints. The outbox rows are returned unsaved, each with
    the index of its entry (notify inserts them).
    """
    if not entries:
        return [], []
    now = clock.now()
    bodies = [_body(tenant, payload) for _kind, tenant, _key, payload, _subject in entries]
    events = Event.objects.bulk_create(
        [
            _event(str(kind), tenant, subject, body, now)
            for (kind, tenant, _key, _payload, subject), body in zip(entries, bodies, strict=True)
        ]
    )
    recipients = tenant_recipients(tenant for _k, tenant, *_rest in entries) if email else {}
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    partner_ids = {t.partner_id for _k, t, *_rest in entries if t.partner_id is not None}
    if webhook and partner_ids:
        endpoints.update(_active_endpoints(partner_ids))
    rows: list[tuple[int, Outbox]] = []
    for index, ((kind, tenant, key, _payload, _subject), body, event) in enumerate(
        zip(entries, bodies, events, strict=True)
    ):
        kind = str(kind)
        if email:
            for address, locale in recipients.get(tenant.pk, []):
                outbox = Outbox(
                    kind=kind,
                    channel=OutboxChannel.EMAIL,
                    dedupe_key=dedupe_key(kind, key, tenant.pk, f"email:{address}"),
                    payload=body,
                    recipient=address,
                    tenant_id=tenant.pk,
                    partner_id=tenant.partner_id,
                    event=event,
                    locale=locale,
                    next_attempt_at=now,
                )
                rows.append((index, outbox))
        for endpoint in endpoints.get(tenant.partner_id or 0, []):
            if endpoint.event_kinds and kind not in endpoint.event_kinds:
                continue
            outbox = Outbox(
                kind=kind,
                channel=OutboxChannel.WEBHOOK,
                dedupe_key=dedupe_key(kind, key, tenant.pk, f"webhook:{endpoint.pk}"),
                # The delivery's body: the event as the feed shows it (core.events).
                payload=event_envelope(event),
                recipient=endpoint.url,
                tenant_id=tenant.pk,
                partner_id=tenant.partner_id,
                webhook_endpoint_id=endpoint.pk,
                event=event,
                next_attempt_at=now,
            )
            rows.append((index, outbox))
    return events, rows
