"""The admin of terms, contracts, deletions and the ledger: read-only.

Everything here is owned by a service (drafts and scheduling, contracts and their ends,
deletions and their acknowledgements, keys) or is evidence (posted versions, the ledger);
the admin shows it and changes nothing outside those services and their audit rows
(docs/security.md). The catalog (products, options, documents) is defined by the code
(`agreements.catalog`), so it is read-only too.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agreements.models import (
    Article,
    ConsentEvidence,
    ConsentRecord,
    ConsentState,
    Contract,
    ContractPeriod,
    DataDeletion,
    LedgerCheckpoint,
    LedgerHead,
    NonRenewalRequest,
    NoticeDelivery,
    Option,
    Paragraph,
    Product,
    ProductKey,
    RequestReceipt,
    ScheduledReminder,
    Termination,
    TerminationCase,
    TermsDocument,
    TermsVersion,
    VersionAuthor,
)
from agreements.services.product_keys import product_key_revoke
from core.admin import ReadOnlyInline
from tenants.admin import RoleAdmin, SandboxMarkedAdmin
from tenants.scope import Scope


class OptionInline(ReadOnlyInline):
    model = Option
    fk_name = "product"


@admin.register(Product)
class ProductAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "sandbox_id"
    list_display = ["code", "name", "start_day_counts", "terms_auto_renewal", "terms_notice_months"]
    search_fields = ["code", "name"]
    inlines = [OptionInline]


@admin.register(Option)
class OptionAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "product__sandbox_id"
    list_display = ["code", "name", "product", "requires_product"]
    list_filter = ["product"]
    search_fields = ["code", "name"]


@admin.register(ProductKey)
class ProductKeyAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "product__sandbox_id"
    list_display = ["prefix", "name", "product", "scopes", "last_used_at", "revoked_at"]
    list_filter = ["product"]
    exclude = ["hashed_key"]
    actions = ["revoke"]

    @admin.action(description=_("選択したキーを失効させる"), permissions=["service"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ProductKey]) -> None:
        scope = Scope.staff_with_roles(request.user)  # type: ignore[arg-type]
        for key in queryset:
            product_key_revoke(scope=scope, key=key)
        self.message_user(request, _("キーを失効させました。"), messages.SUCCESS)


@admin.register(TermsDocument)
class TermsDocumentAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "product__sandbox_id"
    list_display = ["title", "product", "option", "kind", "slug", "precedence"]
    list_filter = ["product", "kind"]
    search_fields = ["title", "slug"]


class ArticleInline(ReadOnlyInline):
    model = Article
    fields = ["position", "number", "heading", "change_category"]


class VersionAuthorInline(ReadOnlyInline):
    """Who created, edited or classified the version: none of them may schedule it."""

    model = VersionAuthor
    fields = ["user_label", "role", "subjects", "changes", "first_at", "last_at"]
    show_change_link = False


@admin.register(TermsVersion)
class TermsVersionAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "document__product__sandbox_id"
    list_display = [
        "document",
        "label",
        "status",
        "consent_mode",
        "notice_on",
        "effective_on",
        "posted_at",
        "is_excerpt",
    ]
    list_filter = ["status", "consent_mode", "document__product", "is_excerpt"]
    search_fields = ["label", "title", "document__title"]
    # R7: a posted version never changes; a draft changes only through the draft services,
    # which record its authors for four eyes (agreements.services.version_drafts).
    inlines = [VersionAuthorInline, ArticleInline]


@admin.register(VersionAuthor)
class VersionAuthorAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "version__document__product__sandbox_id"
    list_display = ["version", "user_label", "role", "changes", "first_at", "last_at"]
    list_filter = ["role"]
    search_fields = ["user_label", "version__label"]


class ParagraphInline(ReadOnlyInline):
    model = Paragraph
    show_change_link = False


@admin.register(Article)
class ArticleAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "version__document__product__sandbox_id"
    list_display = ["heading", "version", "position", "number", "change_category"]
    list_filter = ["version__document"]
    search_fields = ["heading"]
    inlines = [ParagraphInline]


@admin.register(Paragraph)
class ParagraphAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "article__version__document__product__sandbox_id"
    list_display = ["article", "position", "label"]
    search_fields = ["text"]


class PeriodInline(ReadOnlyInline):
    model = ContractPeriod
    fields = ["seq", "start_date", "end_date", "status"]


@admin.register(Contract)
class ContractAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = [
        "id",
        "tenant",
        "product",
        "status",
        "start_date",
        "term_months",
        "auto_renew",
        "ended_on",
        "end_reason",
    ]
    list_filter = ["product", "status", "auto_renew", "billing_cycle"]
    search_fields = ["=id", "tenant__name", "tenant__corporate_number", "order_ref", "external_ref"]
    raw_id_fields = ["tenant", "predecessor"]
    inlines = [PeriodInline]


@admin.register(ContractPeriod)
class ContractPeriodAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "contract__tenant__partner_id"
    list_display = ["contract", "seq", "start_date", "end_date", "status"]
    list_filter = ["status"]
    raw_id_fields = ["contract", "tenant"]


@admin.register(NonRenewalRequest)
class NonRenewalRequestAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "contract__tenant__partner_id"
    list_display = ["contract", "requested_on", "deadline", "end_date", "status", "channel"]
    list_filter = ["status", "channel"]
    raw_id_fields = ["contract", "tenant", "actor_user", "actor_key"]


@admin.register(TerminationCase)
class TerminationCaseAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = ["id", "tenant", "contract", "version", "status", "opened_at", "end_date"]
    list_filter = ["status"]
    search_fields = ["tenant__name"]
    raw_id_fields = ["tenant", "contract", "version", "rejection", "confirmed_by"]


@admin.register(Termination)
class TerminationAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "contract__tenant__partner_id"
    list_display = ["contract", "reason", "status", "end_date", "requested_at", "channel"]
    list_filter = ["reason", "status", "channel"]
    search_fields = ["tenant__name"]
    raw_id_fields = ["contract", "tenant", "case", "successor", "actor_user", "actor_key"]


@admin.register(DataDeletion)
class DataDeletionAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = ["contract", "kind", "status", "due_on", "ordered_at", "acknowledged_at"]
    list_filter = ["kind", "status"]
    search_fields = ["tenant__name"]
    raw_id_fields = ["contract", "tenant", "requested_by", "requested_by_key", "acknowledged_by"]


@admin.register(LedgerHead)
class LedgerHeadAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = ["tenant", "seq", "hash", "updated_at"]
    search_fields = ["tenant__name"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = [
        "tenant",
        "seq",
        "version",
        "answer",
        "actor_kind",
        "channel",
        "recorded_at",
        "hash",
    ]
    list_filter = ["answer", "channel", "actor_kind"]
    search_fields = ["tenant__name", "hash"]


@admin.register(ConsentEvidence)
class ConsentEvidenceAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = ["record", "tenant", "obtained_at", "method", "created_at"]
    exclude = ["salt"]


@admin.register(ConsentState)
class ConsentStateAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = ["tenant", "document", "version", "status", "updated_at"]
    list_filter = ["status", "document"]
    search_fields = ["tenant__name"]


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(RoleAdmin):
    # Read-only: a checkpoint is evidence; edits would fail its signature anyway.
    list_display = ["number", "kind", "created_at", "as_of", "heads_count", "key_id", "digest"]
    list_filter = ["kind", "key_id"]
    exclude = ["heads"]


@admin.register(RequestReceipt)
class RequestReceiptAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    # Read-only: the digest a customer request was filed with is R13 evidence.
    list_display = ["tenant", "kind", "digest", "issued_at"]
    list_filter = ["kind"]
    search_fields = ["tenant__name", "digest"]
    raw_id_fields = ["tenant", "non_renewal", "termination", "deletion"]


@admin.register(ScheduledReminder)
class ScheduledReminderAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "version__document__product__sandbox_id"
    # Read-only: publishers schedule and cancel reminders in the console (audited there).
    list_display = ["version", "send_on", "basis", "status", "sent", "created_by", "done_at"]
    list_filter = ["status", "basis"]
    raw_id_fields = ["version", "created_by", "cancelled_by"]


@admin.register(NoticeDelivery)
class NoticeDeliveryAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    # Read-only: how a notice reached a tenant is R3 evidence; staff record it in the console.
    list_display = ["tenant", "version", "route", "reached_at", "recorded_by", "created_at"]
    list_filter = ["route"]
    search_fields = ["tenant__name"]
