from __future__ import annotations

from django.contrib import admin

from tenants.models import Invitation, Membership, Partner, PartnerAPIKey, Tenant, WebhookEndpoint


class PartnerAPIKeyInline(admin.TabularInline):
    model = PartnerAPIKey
    extra = 0
    fields = ["name", "prefix", "scopes", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "last_used_at"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "code", "contact_email"]
    inlines = [PartnerAPIKeyInline]


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "partner", "scopes", "last_used_at", "revoked_at"]
    list_filter = ["partner"]
    search_fields = ["prefix", "name", "partner__name"]
    readonly_fields = ["prefix", "hashed_key", "last_used_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "partner", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "partner__name"]
    exclude = ["secret", "previous_secret"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "corporate_number", "partner", "locale", "is_active", "created_at"]
    list_filter = ["partner", "locale", "is_active"]
    search_fields = ["name", "corporate_number", "external_ref", "=id"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "tenant__name"]
    raw_id_fields = ["user", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "status", "expires_at", "accepted_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "tenant__name"]
    exclude = ["token_hash"]
    raw_id_fields = ["tenant", "invited_by", "accepted_user", "invited_by_key"]
