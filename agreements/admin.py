from __future__ import annotations

from django.contrib import admin

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
    Option,
    Paragraph,
    Product,
    ProductKey,
    Termination,
    TerminationCase,
    TermsDocument,
    TermsVersion,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger and evidence are append-only facts: the admin shows them, never edits them."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False


class OptionInline(admin.TabularInline):
    model = Option
    fk_name = "product"
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "start_day_counts", "terms_auto_renewal", "terms_notice_months"]
    search_fields = ["code", "name"]
    inlines = [OptionInline]


@admin.register(Option)
class OptionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "product", "requires_product"]
    list_filter = ["product"]
    search_fields = ["code", "name"]


@admin.register(ProductKey)
class ProductKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "product", "scopes", "last_used_at", "revoked_at"]
    list_filter = ["product"]
    readonly_fields = ["prefix", "hashed_key", "last_used_at"]


@admin.register(TermsDocument)
class TermsDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "option", "kind", "slug", "precedence"]
    list_filter = ["product", "kind"]
    search_fields = ["title", "slug"]


class ArticleInline(admin.TabularInline):
    model = Article
    extra = 0
    fields = ["position", "number", "heading", "change_category"]
    show_change_link = True


@admin.register(TermsVersion)
class TermsVersionAdmin(admin.ModelAdmin):
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
    inlines = [ArticleInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[override]
        # R7: once posted a version is immutable; corrections are new versions.
        if obj is not None and obj.status != "draft":
            return [f.name for f in TermsVersion._meta.fields]
        return ["status", "posted_at", "scheduled_at", "withdrawn_at", "lapsed_at", "body_hash"]


class ParagraphInline(admin.StackedInline):
    model = Paragraph
    extra = 0


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["heading", "version", "position", "number", "change_category"]
    list_filter = ["version__document"]
    search_fields = ["heading"]
    inlines = [ParagraphInline]


@admin.register(Paragraph)
class ParagraphAdmin(admin.ModelAdmin):
    list_display = ["article", "position", "label"]
    search_fields = ["text"]


class PeriodInline(admin.TabularInline):
    model = ContractPeriod
    extra = 0
    readonly_fields = ["seq", "start_date", "end_date", "status"]
    can_delete = False


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
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
class ContractPeriodAdmin(admin.ModelAdmin):
    list_display = ["contract", "seq", "start_date", "end_date", "status"]
    list_filter = ["status"]
    raw_id_fields = ["contract", "tenant"]


@admin.register(NonRenewalRequest)
class NonRenewalRequestAdmin(admin.ModelAdmin):
    list_display = ["contract", "requested_on", "deadline", "end_date", "status", "channel"]
    list_filter = ["status", "channel"]
    raw_id_fields = ["contract", "tenant", "actor_user", "actor_key"]


@admin.register(TerminationCase)
class TerminationCaseAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "contract", "version", "status", "opened_at", "end_date"]
    list_filter = ["status"]
    search_fields = ["tenant__name"]
    raw_id_fields = ["tenant", "contract", "version", "rejection", "confirmed_by"]


@admin.register(Termination)
class TerminationAdmin(admin.ModelAdmin):
    list_display = ["contract", "reason", "status", "end_date", "requested_at", "channel"]
    list_filter = ["reason", "status", "channel"]
    search_fields = ["tenant__name"]
    raw_id_fields = ["contract", "tenant", "case", "successor", "actor_user", "actor_key"]


@admin.register(DataDeletion)
class DataDeletionAdmin(admin.ModelAdmin):
    list_display = ["contract", "kind", "status", "due_on", "ordered_at", "acknowledged_at"]
    list_filter = ["kind", "status"]
    search_fields = ["tenant__name"]
    raw_id_fields = ["contract", "tenant", "requested_by", "requested_by_key", "acknowledged_by"]


@admin.register(LedgerHead)
class LedgerHeadAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "seq", "hash", "updated_at"]
    search_fields = ["tenant__name"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
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
class ConsentEvidenceAdmin(ReadOnlyAdmin):
    list_display = ["record", "tenant", "obtained_at", "method", "created_at"]
    exclude = ["salt"]


@admin.register(ConsentState)
class ConsentStateAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "document", "version", "status", "updated_at"]
    list_filter = ["status", "document"]
    search_fields = ["tenant__name"]


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(ReadOnlyAdmin):
    # Read-only: a checkpoint is evidence; edits would fail its signature anyway.
    list_display = ["number", "kind", "created_at", "as_of", "heads_count", "key_id", "digest"]
    list_filter = ["kind", "key_id"]
    exclude = ["heads"]
