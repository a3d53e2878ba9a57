"""The error catalogue: every problem `code` the API answers, with its status, the extra members
it carries and what a caller does about it (docs/errors.md is generated from this table by
`scripts/errors_doc.py`; the schema lists each operation's codes from it).

Two kinds of code:
- **shared** codes come from the plumbing every operation passes through (keys, throttling,
  bodies, idempotency, the error handler); `methods` says which operations can meet them;
- **operation** codes come from the services an operation calls; each `ApiView` lists its own
  in `problem_codes`.

`tests/api/test_error_catalogue.py` walks the code each operation runs and fails when a raised
code is missing here or from the view's `problem_codes`, and when a code here is never raised.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = ("GET", "POST", "PATCH", "PUT", "DELETE")
BODY = ("POST", "PATCH", "PUT")
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class ProblemCode:
    statuses: tuple[int, ...]
    meaning: str
    action: str
    members: tuple[str, ...] = ()
    # Shared codes: the methods of the operations that can answer them; () = not tied to an
    # operation (a path or method no operation serves, an unexpected server error).
    methods: tuple[str, ...] | None = None

    @property
    def shared(self) -> bool:
        return self.methods is not None


# The members some problems carry besides RFC 9457's and `code`/`errors` (ProblemSerializer).
MEMBERS: dict[str, str] = {
    "deadline": "the last day (JST) an application or withdrawal was possible",
    "deletion_status": "the deletion order's current status",
    "due_on": "the day the deletion is due",
    "end_date": "the end date already on record",
    "ended_on": "the day the contract ended",
    "latest_version_id": "the version to answer instead",
    "next_possible_end": "the next end date a non-renewal can still reach; send it as end_date",
    "options": "the options named in the request that need another option",
    "period_end": "the last day of the current usage period",
    "posted_at": "when the answered version's notice was posted",
    "reason": "the termination reason refused or already on record",
    "record_id": "the ledger row that already holds this answer",
    "remedy": "the operation to use instead (termination: end the contract)",
    "requires": "the options those options need",
    "sandbox_now": "the sandbox clock's current instant (JST)",
    "retry_after": "seconds to wait (the same as the Retry-After header)",
    "supported_versions": "the API versions this service answers",
    "today": "the business date (JST) the request was checked against",
    "tolerance_seconds": "the clock skew tolerated for obtained_at",
    "use": "the operation to use instead (termination or non_renewal)",
    "version_id": "the version the request named",
}

_RETRY_LATER = "Retry after a moment with the same Idempotency-Key; you get the stored response."

CATALOGUE: dict[str, ProblemCode] = {
    # --- shared: keys and permissions --------------------------------------------------------
    "not_authenticated": ProblemCode(
        (401,),
        "no credential was sent, or one in another scheme than `Api-Key` (`Bearer …`: the "
        "detail says so)",
        "Send `Authorization: Api-Key …`.",
        methods=ALL,
    ),
    "authentication_failed": ProblemCode(
        (401,),
        "the key is malformed, unknown or revoked",
        "Check the key; ask staff for a new one if it was revoked.",
        methods=ALL,
    ),
    "missing_scope": ProblemCode(
        (403,),
        "the key lacks the scope the operation needs (`write`, `status:read`, `deletion:ack`)",
        "Use a key with that scope.",
        methods=ALL,
    ),
    "wrong_caller": ProblemCode(
        (403,),
        "the kind of key cannot use this operation (a product key on a partner operation)",
        "Use the operation meant for your key (docs/api.md, Operations).",
        methods=ALL,
    ),
    "staff_role": ProblemCode(
        (403,),
        "the staff member's role may not do this",
        "Ask a colleague with the role the authorization table names.",
        methods=ALL,
    ),
    "permission_denied": ProblemCode(
        (403,),
        "the caller may not use this operation",
        "Do not retry; use a credential that may.",
        methods=ALL,
    ),
    # --- shared: bodies and requests -----------------------------------------------------------
    "invalid": ProblemCode(
        (400,),
        "a field, query parameter or header is wrong; `errors` names each",
        "Fix the fields listed in `errors[].field` and send again.",
        methods=ALL,
    ),
    "unknown_field": ProblemCode(
        (400,),
        "the body has a member the operation does not take (misspelt, read-only or not "
        "changeable, a staff-only member such as `partner` sent by a partner; nested objects "
        "too); `errors[].field` names each",
        "Remove the fields listed in `errors[].field` (docs/api.md: request bodies).",
        methods=BODY,
    ),
    "unknown_parameter": ProblemCode(
        (400,),
        "the query string has a parameter the operation does not take (misspelt, or a filter "
        "of another list: the event feed continues with `after`, not `updated_since`); "
        "`errors[].field` names each",
        "Remove the parameters listed in `errors[].field`; each operation's parameters are in "
        "the schema (lists take `cursor` and `page_size`).",
        methods=ALL,
    ),
    "cursor_invalid": ProblemCode(
        (400,),
        "the `cursor` is not one this service made (forged, edited, truncated, or from before "
        "cursors were signed)",
        "Follow `next` / `previous` exactly as received, or start again without `cursor`.",
        methods=("GET",),
    ),
    "parse_error": ProblemCode(
        (400,),
        "the body is not valid JSON, or names a member twice in one object (`detail` names it)",
        "Send a JSON object, each member once.",
        methods=BODY,
    ),
    "json_too_deep": ProblemCode(
        (400,), "the JSON nests deeper than 64 levels", "Flatten the body.", methods=BODY
    ),
    "payload_too_large": ProblemCode(
        (413,), "the body is larger than 1 MiB", "Send a smaller body.", methods=BODY
    ),
    "unsupported_media_type": ProblemCode(
        (415,),
        "the body is not `application/json` in UTF-8, or was sent without a Content-Type",
        "Send `Content-Type: application/json` (charset utf-8 or none).",
        methods=BODY,
    ),
    "not_acceptable": ProblemCode(
        (406,),
        "the `Accept` header allows no JSON",
        "Accept `application/json` (problems are `application/problem+json`).",
        methods=ALL,
    ),
    "api_version_unknown": ProblemCode(
        (400,),
        "the `API-Version` header names a version this service does not answer",
        "Send one of `supported_versions`, or no header to use your key's version.",
        members=("supported_versions",),
        methods=ALL,
    ),
    "throttled": ProblemCode(
        (429,),
        "the key used up its request budget",
        "Wait `Retry-After` seconds (see also the RateLimit-* headers).",
        members=("retry_after",),
        methods=ALL,
    ),
    "idempotency_key_reused": ProblemCode(
        (422,),
        "the Idempotency-Key was used for another request (method, path or JSON content)",
        "Use a new key for a new request.",
        methods=("POST",),
    ),
    "idempotency_in_flight": ProblemCode(
        (409,),
        "a request with this Idempotency-Key is still running",
        _RETRY_LATER,
        methods=("POST",),
    ),
    "conflict": ProblemCode(
        (409,),
        "a concurrent request changed the same object first",
        "Read the object again, then retry.",
        methods=WRITES,
    ),
    "not_found": ProblemCode(
        (404,),
        "no such object for this caller (another partner's objects are not found either)",
        "Check the id in the path.",
        methods=ALL,
    ),
    "service_unavailable": ProblemCode(
        (503,),
        "the database cannot answer now",
        "Retry after `Retry-After` seconds.",
        methods=ALL,
    ),
    "method_not_allowed": ProblemCode(
        (405,),
        "the path does not serve this method (the `Allow` header lists those it does)",
        "Use a method from `Allow`.",
        methods=(),
    ),
    "server_error": ProblemCode(
        (500,),
        "an unexpected error on our side",
        "Retry later with the same Idempotency-Key; quote the X-Request-ID to support.",
        methods=(),
    ),
    # --- tenants, users, webhooks ------------------------------------------------------------
    "forbidden": ProblemCode(
        (403,),
        "the caller may not make this change",
        "Do not retry; staff decide this in the console.",
    ),
    "corporate_number_taken": ProblemCode(
        (409,),
        "another tenant of yours has this corporate number",
        "Use that tenant (search with `?search=`), or correct the number.",
    ),
    "corporate_number_invalid": ProblemCode(
        (400,),
        "the corporate number is not 13 digits, or its check digit does not match",
        "Correct `corporate_number`.",
    ),
    "external_ref_taken": ProblemCode(
        (409,),
        "another tenant of yours has this external_ref",
        "Use that tenant, or choose another reference.",
    ),
    "tenant_not_found": ProblemCode(
        (404,), "no such tenant for this caller", "Check the tenant id."
    ),
    "tenant_inactive": ProblemCode(
        (409,), "the tenant is no longer active", "Nothing can be added to it; create a new one."
    ),
    "already_member": ProblemCode(
        (409,), "the person is already a member of the tenant", "Nothing to do."
    ),
    "last_admin": ProblemCode(
        (409,),
        "removing this member would leave the tenant without an admin",
        "Invite another admin first.",
    ),
    "https_required": ProblemCode(
        (400,), "a webhook URL must be https", "Register an `https://` URL."
    ),
    "address_forbidden": ProblemCode(
        (400,),
        "the webhook host is not a public internet address",
        "Register a publicly reachable host (docs/api.md, Webhooks).",
    ),
    "secret_rotation_limit": ProblemCode(
        (409,),
        "five secrets already sign this webhook's deliveries (the current one and four rotated "
        "away within the last 24 hours, each signing until its own expiry)",
        "Retry after the oldest of `earlier_secrets_expire_at` (read the webhook).",
    ),
    "webhook_limit": ProblemCode(
        (409,), "the partner has the most webhooks allowed", "Disable one you no longer use."
    ),
    "webhook_disabled": ProblemCode(
        (409,),
        "the webhook is disabled: its secret cannot be rotated, nor a test or resend sent",
        "Enable it first (`POST /webhooks/{id}/enable/`).",
    ),
    "event_kind_not_subscribable": ProblemCode(
        (400,),
        "an event kind that no partner event has (or `webhook.test`)",
        "Subscribe only to the kinds the schema lists (`SubscribableEventKind`).",
    ),
    "delivery_pending": ProblemCode(
        (409,),
        "the delivery is still queued for another attempt",
        "Wait for the attempt; resend only a delivery that failed or was given up.",
    ),
    # --- contracts ---------------------------------------------------------------------------
    "contract_not_found": ProblemCode(
        (404,), "no such contract for this caller", "Check the contract id."
    ),
    "contract_not_active": ProblemCode(
        (409,),
        "the contract has ended",
        "Nothing more can be filed for it.",
        members=("ended_on",),
    ),
    "start_date_out_of_range": ProblemCode(
        (400,),
        "`start_date` is before 2000-01-01 or more than a year ahead",
        "Correct `start_date`.",
    ),
    "start_date_in_the_past": ProblemCode(
        (400,),
        "the contract's first period would already have ended",
        "Use a later `start_date`.",
    ),
    "period_out_of_range": ProblemCode(
        (400,),
        "no end date can be computed from `start_date` and `term_months`",
        "Correct `start_date` or `term_months`.",
    ),
    "invalid_term": ProblemCode((400,), "`term_months` is below 1", "Send 1 or more."),
    "invalid_notice": ProblemCode((400,), "`notice_months` is negative", "Send 0 or more."),
    "notice_months_required": ProblemCode(
        (400,),
        "an auto-renewing contract needs `notice_months` (the terms have no clause)",
        "Send `notice_months`.",
    ),
    "invalid_billing_cycle": ProblemCode(
        (400,), "the billing cycle is not a known one", "Use one the schema lists."
    ),
    "cycle_months_required": ProblemCode(
        (400,), "this billing cycle needs `cycle_months`", "Send `cycle_months`."
    ),
    "invalid_amount": ProblemCode((400,), "an amount is negative", "Send 0 or more."),
    "option_not_of_product": ProblemCode(
        (400,), "an option belongs to another product", "Name the product's own options."
    ),
    "option_prerequisite_missing": ProblemCode(
        (400,),
        "an option needs another option the request does not name",
        "Add the options in `requires`.",
        members=("options", "requires"),
    ),
    "not_auto_renewing": ProblemCode(
        (409,),
        "the contract does not renew, so there is nothing to decline",
        "Nothing to do: it ends at the end of its period.",
    ),
    "non_renewal_exists": ProblemCode(
        (409,),
        "a non-renewal is already on record",
        "Nothing to do; withdraw it first to change it.",
        members=("deadline", "end_date"),
    ),
    "no_open_period": ProblemCode(
        (409,), "the contract has no current usage period", "Retry the next business day."
    ),
    "non_renewal_not_period_end": ProblemCode(
        (400,),
        "a non-renewal ends a contract only at a period end",
        "Send `end_date` = `next_possible_end`, or file a termination (`use`).",
        members=("next_possible_end", "use"),
    ),
    "non_renewal_late": ProblemCode(
        (400, 409),
        "the non-renewal deadline has passed (R11)",
        "Send again with `end_date` = `next_possible_end`.",
        members=("deadline", "next_possible_end", "period_end", "use"),
    ),
    "non_renewal_not_found": ProblemCode(
        (404,), "the contract has no active non-renewal to withdraw", "Nothing to withdraw."
    ),
    "non_renewal_not_active": ProblemCode(
        (409,), "the non-renewal was withdrawn or has been applied", "Nothing to withdraw."
    ),
    "non_renewal_withdraw_late": ProblemCode(
        (409,),
        "the withdrawal deadline has passed",
        "The contract ends on `end_date`.",
        members=("deadline", "end_date"),
    ),
    "end_date_in_past": ProblemCode(
        (400,),
        "the end date is before today (JST)",
        "Send an `end_date` on or after `today`.",
        members=("today",),
    ),
    "end_before_start": ProblemCode(
        (400,), "the end date is before the contract began", "Correct `end_date`."
    ),
    "ends_at_period_end": ProblemCode(
        (400,),
        "a termination on the period end is a non-renewal",
        "File a non-renewal instead.",
        members=("period_end",),
    ),
    "use_non_renewal": ProblemCode(
        (400,),
        "an end at or after the period end is reached by a non-renewal",
        "File a non-renewal (`use`), or end before `period_end`.",
        members=("deadline", "next_possible_end", "period_end", "use"),
    ),
    "invalid_reason": ProblemCode((400,), "the reason is not a known one", "Send a listed reason."),
    "not_a_termination_reason": ProblemCode(
        (400,),
        "expiry and non-renewal are not terminations",
        "File a non-renewal instead.",
    ),
    "reason_has_own_procedure": ProblemCode(
        (400,),
        "the reason is recorded by its own procedure (a rejection case, a succession)",
        "Staff record it through that procedure.",
    ),
    "reason_not_in_terms": ProblemCode(
        (400,),
        "the product's terms do not have this reason",
        "Send a reason of this product.",
        members=("reason",),
    ),
    "staff_only_reason": ProblemCode(
        (403,),
        "only staff may terminate for this reason (Biz 13.1)",
        "Ask staff.",
        members=("reason",),
    ),
    "ground_required": ProblemCode(
        (400,),
        "the reason is an article whose list of grounds is not in the text (OPTiM ID+ 14.2): "
        "the specific ground must be stated",
        "Send `note` with the ground the customer fell under; the notice quotes it.",
        members=("reason",),
    ),
    "termination_exists": ProblemCode(
        (409,),
        "a termination is already on record",
        "Nothing to do.",
        members=("end_date", "reason"),
    ),
    "no_notice_recipient": ProblemCode(
        (409,),
        "the tenant has no one to send the notice to",
        "Add a contact e-mail or an admin to the tenant first.",
    ),
    # --- deletions ---------------------------------------------------------------------------
    "deletion_needs_end": ProblemCode(
        (409,), "data can be deleted only at or after the contract's end", "End it first."
    ),
    "deletion_not_found": ProblemCode(
        (404,), "no such deletion order for this product", "Check the deletion id."
    ),
    "deletion_not_ordered": ProblemCode(
        (409,),
        "the deletion is not ordered yet",
        "Acknowledge it once it is ordered (from `due_on`).",
        members=("deletion_status", "due_on"),
    ),
    "completed_before_end": ProblemCode(
        (400,),
        "`completed_at` is before the day after the contract's end: nothing is deleted before "
        "the contract has ended (R15)",
        "Send the instant the deletion really completed, with its offset.",
        ("ended_on",),
    ),
    "completed_in_future": ProblemCode(
        (400,),
        "`completed_at` is later than now (beyond the clock-skew tolerance)",
        "Send the instant the deletion completed, with its offset.",
        ("tolerance_seconds",),
    ),
    "ack_evidence_differs": ProblemCode(
        (409,),
        "the deletion was already acknowledged with other evidence; the first acknowledgement "
        "is the record (a repeat with the same evidence answers 200)",
        "Do not retry with other evidence; read the deletion for the evidence on record.",
    ),
    "product_not_allowed": ProblemCode(
        (403,),
        "the product exists but this product key is another product's (a product key checks "
        "only its own product)",
        "Leave `product` out, or use that product's key.",
    ),
    "product_not_found": ProblemCode(
        (404,),
        "the sandbox has no such product",
        "Use a product code of `GET /products/` as the sandbox key sees it.",
    ),
    "invitation_not_found": ProblemCode(
        (404,), "no such invitation for this tenant", "Check the invitation id."
    ),
    "invitation_used": ProblemCode(
        (409,),
        "the invitation was already accepted, so it cannot be revoked",
        "Remove the member instead (`DELETE /tenants/{id}/members/{user}/`).",
    ),
    # --- sandbox -----------------------------------------------------------------------------
    "live_key_required": ProblemCode(
        (403,),
        "sandbox keys are issued, listed and revoked with a live partner key, not with a "
        "sandbox key; the detail names the operation refused",
        "Call `POST /sandbox/`, the sandbox key lists and their revocations with your live key.",
    ),
    "sandbox_key_required": ProblemCode(
        (403,),
        "the operation acts on a sandbox only, and the key is a live key (or no partner key)",
        "Use a sandbox key (`POST /sandbox/` issues one).",
    ),
    "sandbox_key_not_found": ProblemCode(
        (404,),
        "no key of that id among the caller's sandbox's keys (partner keys under "
        "`/sandbox/keys/`, product keys under `/sandbox/product-keys/`)",
        "Read the id from `GET /sandbox/keys/` or `GET /sandbox/product-keys/`.",
    ),
    "sandbox_clock_backwards": ProblemCode(
        (409,),
        "the sandbox clock moves forward only",
        "Send a `to` at or after `sandbox_now`.",
        members=("sandbox_now",),
    ),
    "sandbox_advance_too_far": ProblemCode(
        (400,), "more than three years in one advance", "Advance in several steps."
    ),
    "sandbox_revision_dates": ProblemCode(
        (400,),
        "the simulated revision's effective date is not after the sandbox's today, or more "
        "than a year after it",
        "Send an `effective_on` after the sandbox's today and within 366 days of it.",
    ),
    "sandbox_revision_pending": ProblemCode(
        (409,),
        "the product's terms already have a pending revision in the sandbox (or none in force)",
        "Advance past its effective date first.",
    ),
    # --- consent -----------------------------------------------------------------------------
    "version_not_posted": ProblemCode(
        (409,),
        "the version has not been posted yet (staff; to a partner such a version is unknown: "
        "a 400 on `version`)",
        "Answer the posted version.",
        members=("version_id",),
    ),
    "version_not_answerable": ProblemCode(
        (409,),
        "the version was withdrawn or has lapsed",
        "Answer the version the consent status names.",
        members=("version_id",),
    ),
    "version_not_latest": ProblemCode(
        (409,),
        "a newer version of the document has been posted",
        "Show the customer `latest_version_id` and answer it.",
        members=("latest_version_id", "version_id"),
    ),
    "not_bound": ProblemCode(
        (409,),
        "no active contract of the tenant is bound by this document",
        "Nothing to answer.",
        members=("version_id",),
    ),
    "record_missing": ProblemCode(
        (409,),
        "the current answer's ledger row could not be found",
        "Retry; report the X-Request-ID if it persists.",
    ),
    "answer_evidence_differs": ProblemCode(
        (409,),
        "the answer repeats the one on record, with other evidence; nothing was stored",
        "The first answer and its evidence stand (`record_id`); send no new evidence for it.",
        members=("record_id",),
    ),
    "evidence_before_notice": ProblemCode(
        (400,),
        "`evidence.obtained_at` is earlier than the answered version's notice was posted "
        "(beyond the clock-skew tolerance)",
        "Send the instant the answer was obtained, with its offset: after the customer saw "
        "the posted text.",
        members=("posted_at", "tolerance_seconds"),
    ),
    "evidence_in_future": ProblemCode(
        (400,),
        "`evidence.obtained_at` is later than now (beyond the clock-skew tolerance)",
        "Send the instant the answer was obtained, with its offset.",
        members=("tolerance_seconds",),
    ),
    "reject_after_effective_deemed": ProblemCode(
        (409,),
        "a rejection after the effective date of a deemed-consent revision (R3)",
        "End the contract instead (`remedy: termination`, R13).",
        members=("remedy",),
    ),
    "case_in_effect": ProblemCode(
        (409,), "the rejection already ended the contract (R6)", "Nothing to answer."
    ),
    "answer_not_owed": ProblemCode(
        (409,),
        "the tenant owes no answer to this version: none of its contracts that the document "
        "binds is in force on the version's effective date (it began after, or ends before); "
        "the consent status shows `owed: false` and no `allowed_answers`",
        "Record nothing: the tenant is bound by the version it contracted on, or leaves first.",
        ("version_id",),
    ),
    "answer_not_allowed": ProblemCode(
        (409,),
        "the consent status does not allow this answer",
        "Read `allowed_answers` in the consent status.",
    ),
}


# Each operation's own codes (the shared ones above come on top), keyed by its view.
OPERATION_CODES: dict[str, tuple[str, ...]] = {
    "web.api.sandbox.SandboxCreateApi": ("live_key_required",),
    "web.api.sandbox.SandboxKeyListApi": ("live_key_required",),
    "web.api.sandbox.SandboxProductKeyListApi": ("live_key_required",),
    "web.api.sandbox.SandboxKeyRevokeApi": ("live_key_required", "sandbox_key_not_found"),
    "web.api.sandbox.SandboxProductKeyRevokeApi": ("live_key_required", "sandbox_key_not_found"),
    "web.api.sandbox.SandboxClockApi": ("sandbox_key_required",),
    "web.api.sandbox.SandboxAdvanceApi": (
        "sandbox_advance_too_far",
        "sandbox_clock_backwards",
        "sandbox_key_required",
    ),
    "web.api.sandbox.SandboxRevisionCreateApi": (
        "product_not_found",
        "sandbox_key_required",
        "sandbox_revision_dates",
        "sandbox_revision_pending",
    ),
    "web.api.consents.ConsentAnswerApi": (
        "answer_evidence_differs",
        "answer_not_allowed",
        "answer_not_owed",
        "case_in_effect",
        "evidence_before_notice",
        "evidence_in_future",
        "not_bound",
        "record_missing",
        "reject_after_effective_deemed",
        "version_not_answerable",
        "version_not_latest",
        "version_not_posted",
    ),
    "web.api.consents.ConsentStatusApi": (),
    "web.api.consents.LedgerListApi": (),
    "web.api.contracts.ContractCreateApi": (
        "cycle_months_required",
        "invalid_amount",
        "invalid_billing_cycle",
        "invalid_notice",
        "invalid_term",
        "notice_months_required",
        "option_not_of_product",
        "option_prerequisite_missing",
        "period_out_of_range",
        "start_date_in_the_past",
        "start_date_out_of_range",
        "tenant_inactive",
    ),
    "web.api.contracts.ContractDetailApi": ("contract_not_found",),
    "web.api.contracts.ContractListApi": (),
    "web.api.contracts.ContractPeriodListApi": ("contract_not_found",),
    "web.api.deletions.DeletionAckApi": (
        "ack_evidence_differs",
        "completed_before_end",
        "completed_in_future",
        "deletion_not_found",
        "deletion_not_ordered",
        "forbidden",
    ),
    "web.api.deletions.DeletionListApi": ("forbidden",),
    "web.api.deletions.DeletionRequestApi": (
        "contract_not_found",
        "deletion_needs_end",
    ),
    "web.api.documents.DocumentListApi": (),
    "web.api.events.EventListApi": ("forbidden",),
    "web.api.invitations.InvitationCreateApi": (
        "already_member",
        "forbidden",
        "tenant_inactive",
    ),
    "web.api.memberships.MembershipListApi": (),
    "web.api.memberships.MembershipRemoveApi": (
        "forbidden",
        "last_admin",
    ),
    "web.api.non_renewals.NonRenewalCreateApi": (
        "contract_not_active",
        "contract_not_found",
        "no_open_period",
        "non_renewal_exists",
        "non_renewal_late",
        "non_renewal_not_period_end",
        "not_auto_renewing",
    ),
    "web.api.non_renewals.NonRenewalWithdrawApi": (
        "contract_not_found",
        "non_renewal_not_active",
        "non_renewal_not_found",
        "non_renewal_withdraw_late",
    ),
    "web.api.notices.NoticeListApi": (),
    "web.api.products.ProductListApi": (),
    "web.api.status.TenantStatusApi": (
        "product_not_allowed",
        "tenant_not_found",
    ),
    "web.api.tenants.TenantCreateApi": (
        "corporate_number_invalid",
        "corporate_number_taken",
        "external_ref_taken",
        "forbidden",
    ),
    "web.api.tenants.TenantDetailApi": (),
    "web.api.tenants.TenantListApi": (),
    "web.api.tenants.TenantUpdateApi": (
        "corporate_number_invalid",
        "corporate_number_taken",
        "external_ref_taken",
    ),
    "web.api.terminations.TerminationCreateApi": (
        "contract_not_active",
        "contract_not_found",
        "end_before_start",
        "end_date_in_past",
        "ends_at_period_end",
        "ground_required",
        "invalid_reason",
        "no_notice_recipient",
        "non_renewal_late",
        "not_a_termination_reason",
        "reason_has_own_procedure",
        "reason_not_in_terms",
        "staff_only_reason",
        "termination_exists",
        "use_non_renewal",
    ),
    "web.api.versions.VersionDetailApi": (),
    "web.api.versions.VersionDiffApi": (),
    "web.api.versions.VersionListApi": (),
    "web.api.webhooks.WebhookCreateApi": (
        "address_forbidden",
        "event_kind_not_subscribable",
        "forbidden",
        "https_required",
        "webhook_limit",
    ),
    "web.api.webhooks.WebhookDisableApi": ("forbidden",),
    "web.api.webhooks.WebhookListApi": (),
    "web.api.webhooks.WebhookRotateSecretApi": (
        "forbidden",
        "secret_rotation_limit",
        "webhook_disabled",
    ),
    "web.api.events.EventDetailApi": ("forbidden",),
    "web.api.invitations.InvitationDetailApi": ("invitation_not_found",),
    "web.api.invitations.InvitationListApi": (),
    "web.api.invitations.InvitationRevokeApi": (
        "forbidden",
        "invitation_not_found",
        "invitation_used",
    ),
    "web.api.status.TenantStatusBulkApi": ("product_not_allowed",),
    "web.api.tenants.TenantLookupApi": (),
    "web.api.webhooks.WebhookDeleteApi": ("forbidden",),
    "web.api.webhooks.WebhookDeliveryListApi": (),
    "web.api.webhooks.WebhookDeliveryResendApi": (
        "delivery_pending",
        "forbidden",
        "webhook_disabled",
    ),
    "web.api.webhooks.WebhookDetailApi": (),
    "web.api.webhooks.WebhookEnableApi": (
        "address_forbidden",
        "forbidden",
        "https_required",
        "webhook_limit",
    ),
    "web.api.webhooks.WebhookTestApi": (
        "forbidden",
        "webhook_disabled",
    ),
    "web.api.webhooks.WebhookUpdateApi": (
        "address_forbidden",
        "event_kind_not_subscribable",
        "forbidden",
        "https_required",
    ),
}


# Codes the walk finds in an operation's code that a check of its own answers first, so its
# callers never meet them there: not listed for the operation (tests/api/test_error_catalogue.py
# keeps this list true to the walk; tests show the check that comes first).
SHADOWED: dict[str, dict[str, str]] = {
    "web.api.deletions.DeletionAckApi": {
        "invalid_evidence": "the body is parsed as a JSON object first: 400 `invalid`",
    },
    "web.api.tenants.TenantCreateApi": {
        "partner_mismatch": "the body's `partner` is staff-only: a partner's is a 400 "
        "`unknown_field`",
    },
    "web.api.tenants.TenantUpdateApi": {
        "forbidden": "`partner` and `is_active` are staff-only: a partner's are a 400 "
        "`unknown_field`",
    },
    "web.api.webhooks.WebhookCreateApi": {
        "partner_mismatch": "the body's `partner` is staff-only: a partner's is a 400 "
        "`unknown_field`",
    },
    "web.api.sandbox.SandboxCreateApi": {
        "write_scope_required": "a read-only key is refused by the key check first: 403 `missing_scope`",
    },
    "web.api.sandbox.SandboxKeyRevokeApi": {
        "write_scope_required": "a read-only key is refused by the key check first: 403 `missing_scope`",
    },
    "web.api.sandbox.SandboxProductKeyRevokeApi": {
        "write_scope_required": "a read-only key is refused by the key check first: 403 `missing_scope`",
    },
    "web.api.consents.ConsentAnswerApi": {
        "answer_invalid": "the body's `answer` takes only accepted or rejected: 400 `invalid`",
        "deemed_not_allowed_for_callers": "the body's `answer` takes only accepted or rejected: "
        "400 `invalid`",
        "admin_required": "tenant users answer in the portal; the API has no such caller",
        "write_scope_required": "a read-only key is refused by the key check first: 403 `missing_scope`",
        "forbidden": "a product key is refused by the audience check first (403 `wrong_caller`), "
        "a staff member without the role by the role check (403 `staff_role`)",
        "tenant_not_found": "the path's tenant is looked up first: 404 `not_found`",
    },
    "web.api.consents.ConsentStatusApi": {
        "tenant_not_found": "the path's tenant is looked up first: 404 `not_found`",
    },
    "web.api.consents.LedgerListApi": {
        "tenant_not_found": "the path's tenant is looked up first: 404 `not_found`",
    },
    "web.api.contracts.ContractCreateApi": {
        "tenant_not_found": "the body's tenant is looked up first: 404 `not_found`",
        "contract_not_found": "the contract read back is the one just created",
        "forbidden": "a product key is refused by the audience check first: 403 `wrong_caller`",
        "read_only": "a read-only key is refused by the key check first: 403 `missing_scope`",
    },
    "web.api.deletions.DeletionRequestApi": {
        "read_only": "a read-only key is refused by the key check first: 403 `missing_scope`"
    },
    "web.api.non_renewals.NonRenewalCreateApi": {
        "read_only": "a read-only key is refused by the key check first: 403 `missing_scope`"
    },
    "web.api.non_renewals.NonRenewalWithdrawApi": {
        "read_only": "a read-only key is refused by the key check first: 403 `missing_scope`"
    },
    "web.api.terminations.TerminationCreateApi": {
        "read_only": "a read-only key is refused by the key check first: 403 `missing_scope`"
    },
}


def operation_codes(view: type, method: str) -> dict[int, list[str]]:
    """Every code an operation can answer, by status: its own and the shared ones."""
    own = OPERATION_CODES.get(f"{view.__module__}.{view.__qualname__}", ())
    by_status: dict[int, set[str]] = {}
    for code in own:
        for status in CATALOGUE[code].statuses:
            by_status.setdefault(status, set()).add(code)
    for code, entry in CATALOGUE.items():
        if entry.methods and method in entry.methods:
            for status in entry.statuses:
                by_status.setdefault(status, set()).add(code)
    return {status: sorted(codes) for status, codes in sorted(by_status.items())}


__all__ = [
    "CATALOGUE",
    "MEMBERS",
    "OPERATION_CODES",
    "SHADOWED",
    "ProblemCode",
    "operation_codes",
]
