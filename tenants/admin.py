"""The admin of partners, keys, webhooks, tenants and the outbox.

Read-only except a partner's name, contact address and active flag (no service owns them;
the save leaves an audit row). Everything else changes through its service: the actions
here (revoke a key, disable a webhook, revoke an invitation, retry a message) call it.
Which partner a key or webhook belongs to, a tenant's partner (R19), memberships and
webhook URLs never change here (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from core import clock
from core.admin import (
    AuditedAdmin,
    DeliveryAdmin,
    EventAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    masked_payload,
)
from core.enums import OutboxStatus
from core.models import Delivery, Event, Outbox
from tenants.authz import Action, is_staff_member, roles_may, staff_roles
from tenants.delivery.outbox import outbox_retry
from tenants.models import (
    Invitation,
    Membership,
    NotificationContact,
    Partner,
    PartnerAPIKey,
    Tenant,
    WebhookEndpoint,
)
from tenants.scope import Scope
from tenants.services.base import name_errors
from tenants.services.invitations import invitation_revoke
from tenants.services.keys import partner_key_revoke
from tenants.services.webhooks import webhook_disable


def _staff_scope(request: HttpRequest) -> Scope:
    return Scope.staff_with_roles(request.user)  # type: ignore[arg-type]


def request_may(request: HttpRequest, action: Action) -> bool:
    """`tenants.authz.may` for the request's user, with the roles read once per request: the
    admin asks every registered model (index, sidebar) for its permissions."""
    roles = getattr(request, "_staff_roles", None)
    if roles is None:
        roles = staff_roles(request.user)
        request._staff_roles = roles  # type: ignore[attr-defined]
    user = request.user
    superuser = bool(is_staff_member(user) and getattr(user, "is_superuser", False))
    return is_staff_member(user) and roles_may(roles, action, superuser=superuser)


# --- Sandboxes (docs/api.md, "Sandbox"): marked in every list, live data by default ---------


def in_sandbox(partner_id: str) -> Exists:
    """Whether the partner a row belongs to (its id, reached through `partner_id`) is a
    sandbox."""
    return Exists(Partner.objects.filter(pk=OuterRef(partner_id), sandbox_of__isnull=False))


class SandboxListFilter(admin.SimpleListFilter):
    """Live rows unless asked: a sandbox's test data never mixes into the live lists unseen,
    and is one click away (or all rows at once)."""

    title = _("本番 / サンドボックス")
    parameter_name = "data"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("live", _("本番")), ("sandbox", _("サンドボックス")), ("all", _("すべて"))]

    def choices(self, changelist: Any) -> Any:
        current = self.value() or "live"
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        current = self.value() or "live"
        if current == "all":
            return queryset
        return queryset.filter(in_sandbox=current == "sandbox")


class SandboxMarkedAdmin(admin.ModelAdmin):
    """A list whose rows may belong to a sandbox: a "sandbox" column and the filter above.
    `sandbox_partner` is the path from the row to its partner's id. A sandbox row's own page
    stays reachable (the filter applies to the list only)."""

    sandbox_partner = "partner_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(in_sandbox=in_sandbox(self.sandbox_partner))

    def get_list_display(self, request: HttpRequest) -> Any:
        return [*super().get_list_display(request), "sandbox_mark"]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [SandboxListFilter, *super().get_list_filter(request)]

    @admin.display(description=_("サンドボックス"), boolean=True, ordering="in_sandbox")
    def sandbox_mark(self, obj: Any) -> bool:
        return bool(getattr(obj, "in_sandbox", False))


class RoleAdmin(ReadOnlyAdmin):
    """Read-only rows; who may see them and run their actions is the one authorization table
    (tenants/authz.py), as in the console and the API: a console viewer reads here too and
    runs no action."""

    service_action: Action = Action.DECIDE

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_may(request, Action.READ)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_may(request, Action.READ)

    def has_service_permission(self, request: HttpRequest) -> bool:
        return request_may(request, self.service_action)


class PartnerAPIKeyInline(ReadOnlyInline):
    model = PartnerAPIKey
    fields = ["name", "prefix", "scopes", "last_used_at", "revoked_at"]


class PartnerAdminForm(forms.ModelForm):
    """The name under the services' rule (tenants.services.base.name_errors): one line, no
    control, separator or bidirectional characters, at most 255 characters."""

    class Meta:
        model = Partner
        fields = ["name", "contact_email", "is_active"]

    def clean_name(self) -> str:
        # The form has stripped surrounding whitespace, as the services do.
        name = str(self.cleaned_data.get("name") or "")
        if problems := name_errors(name):
            raise forms.ValidationError(problems)
        return name


@admin.register(Partner)
class PartnerAdmin(SandboxMarkedAdmin, AuditedAdmin):
    sandbox_partner = "pk"
    form = PartnerAdminForm
    list_display = ["name", "code", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "code", "contact_email"]
    fields = ["code", "name", "contact_email", "is_active"]
    # The code names the partner in keys, logs and the API; it never changes.
    readonly_fields = ["code"]
    inlines = [PartnerAPIKeyInline]

    # Customer records: the console's `operate` (tenants/authz.py) decides here too.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_may(request, Action.READ)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_may(request, Action.READ)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_may(request, Action.OPERATE)


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(SandboxMarkedAdmin, RoleAdmin):
    list_display = ["prefix", "name", "partner", "scopes", "last_used_at", "revoked_at"]
    list_filter = ["partner"]
    search_fields = ["prefix", "name", "partner__name"]
    exclude = ["hashed_key"]
    actions = ["revoke"]

    @admin.action(description=_("選択したキーを失効させる"), permissions=["service"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerAPIKey]) -> None:
        for key in queryset:
            partner_key_revoke(scope=_staff_scope(request), key=key)
        self.message_user(request, _("キーを失効させました。"), messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SandboxMarkedAdmin, RoleAdmin):
    list_display = ["url", "partner", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "partner__name"]
    exclude = ["secret", "previous_secret", "earlier_secrets"]
    actions = ["disable"]

    @admin.action(description=_("選択したWebhookを停止する"), permissions=["service"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_disable(scope=_staff_scope(request), endpoint=endpoint)
        self.message_user(request, _("Webhookを停止しました。"), messages.SUCCESS)


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ["user", "role"]
    show_change_link = False


@admin.register(Tenant)
class TenantAdmin(SandboxMarkedAdmin, RoleAdmin):
    list_display = ["name", "corporate_number", "partner", "locale", "is_active", "created_at"]
    list_filter = ["partner", "locale", "is_active"]
    search_fields = ["name", "corporate_number", "external_ref", "=id"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "tenant__name"]
    raw_id_fields = ["user", "tenant"]


@admin.register(NotificationContact)
class NotificationContactAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    # Read-only: tenant admins keep them in the portal (tenants.services.contacts, audited).
    list_display = ["tenant", "name", "email", "locale", "created_at"]
    search_fields = ["email", "tenant__name"]
    raw_id_fields = ["tenant"]


@admin.register(Invitation)
class InvitationAdmin(SandboxMarkedAdmin, RoleAdmin):
    sandbox_partner = "tenant__partner_id"
    service_action = Action.OPERATE
    list_display = ["email", "tenant", "role", "status", "expires_at", "accepted_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "tenant__name"]
    exclude = ["token_hash"]
    raw_id_fields = ["tenant", "invited_by", "accepted_user", "invited_by_key"]
    actions = ["revoke"]

    @admin.action(description=_("選択した招待を取り消す"), permissions=["service"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        for invitation in queryset:
            invitation_revoke(scope=_staff_scope(request), invitation=invitation)
        self.message_user(request, _("招待を取り消しました。"), messages.SUCCESS)


# --- The outbox (a core table): delivery and its retry belong to tenants.delivery ------------


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    show_change_link = False
    fields = [
        "attempt",
        "succeeded",
        "status_code",
        "error",
        "duration_ms",
        "attempted_at",
    ]


class OutboxProblemFilter(admin.SimpleListFilter):
    """Failures and dead letters first: what staff need to look at."""

    title = _("配信の問題")
    parameter_name = "problem"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("dead", _("送信不能（デッドレター）")),
            ("failing", _("再試行待ち")),
            ("stuck", _("処理期限切れ（送信済みか不明）")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Outbox]) -> QuerySet[Outbox]:
        if self.value() == "dead":
            return queryset.filter(status=OutboxStatus.DEAD)
        if self.value() == "failing":
            return queryset.filter(status=OutboxStatus.FAILED)
        if self.value() == "stuck":
            return queryset.filter(
                status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED],
                lease_until__lt=clock.now(),
            )
        return queryset


@admin.register(Outbox)
class OutboxAdmin(SandboxMarkedAdmin, RoleAdmin):
    service_action = Action.OPERATE  # failed deliveries are customer records (console: operate)
    list_display = [
        "id",
        "kind",
        "channel",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_filter = [OutboxProblemFilter, "status", "channel", "kind"]
    search_fields = ["dedupe_key", "recipient", "message_id"]
    inlines = [DeliveryInline]
    actions = ["retry"]
    # The payload only masked: an invitation's link is a live token (core.masking).
    exclude = ["payload"]
    readonly_fields = ["payload_shown"]

    @admin.display(description=_("内容"))
    def payload_shown(self, obj: Outbox) -> str:
        return masked_payload(obj)

    @admin.display(description=_("最後のエラー"))
    def short_error(self, obj: Outbox) -> str:
        return obj.last_error[:80]

    @admin.action(
        description=_("選択したメッセージを再送する（失敗・送信不能のみ）"), permissions=["service"]
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[Outbox]) -> None:
        count = outbox_retry(
            scope=_staff_scope(request),
            ids=list(queryset.values_list("id", flat=True)),
        )
        self.message_user(
            request,
            _("%(count)d 件を再送の対象にしました。") % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        counts = dict(
            Outbox.objects.values("status").annotate(n=Count("id")).values_list("status", "n")
        )
        summary = {str(label): counts.get(value, 0) for value, label in OutboxStatus.choices}
        return super().changelist_view(
            request, extra_context={**(extra_context or {}), "outbox_summary": summary}
        )


# The event and delivery tables are core's (which knows no partner model): their lists are
# marked here, where partners are known.
admin.site.unregister(Event)
admin.site.unregister(Delivery)


@admin.register(Event)
class SandboxMarkedEventAdmin(SandboxMarkedAdmin, EventAdmin):
    pass


@admin.register(Delivery)
class SandboxMarkedDeliveryAdmin(SandboxMarkedAdmin, DeliveryAdmin):
    sandbox_partner = "outbox__partner_id"
