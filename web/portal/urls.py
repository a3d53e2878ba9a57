"""The customer portal at /portal/ (namespace "portal"), mounted by terms_site/urls.py."""

from __future__ import annotations

from django.urls import path

from web.portal import views_access as access
from web.portal import views_contracts as contracts
from web.portal import views_members as members
from web.portal import views_receipts as receipts
from web.portal import views_review as review

app_name = "portal"

urlpatterns = [
    path("", review.home, name="home"),
    path("changes/<int:pk>/", review.review, name="review"),
    path("changes/<int:pk>/answer/", review.answer, name="answer"),
    path("contracts/", contracts.contract_list, name="contracts"),
    path("contracts/<int:pk>/", contracts.contract_detail, name="contract"),
    path("contracts/<int:pk>/non-renewal/", contracts.non_renewal, name="non-renewal"),
    path(
        "contracts/<int:pk>/non-renewal/withdraw/",
        contracts.non_renewal_withdraw,
        name="non-renewal-withdraw",
    ),
    path("contracts/<int:pk>/termination/", contracts.termination, name="termination"),
    path("contracts/<int:pk>/deletion/", contracts.deletion, name="deletion"),
    path(
        "contracts/<int:pk>/deletion/withdraw/",
        contracts.deletion_withdraw,
        name="deletion-withdraw",
    ),
    path("receipts/", receipts.receipt_list, name="receipts"),
    path("receipts/<int:pk>/", receipts.receipt_detail, name="receipt"),
    path("receipts/<int:pk>/pdf/", receipts.receipt_download, name="receipt-pdf"),
    path("requests/<str:kind>/<int:pk>/", receipts.request_receipt, name="request-receipt"),
    path(
        "requests/<str:kind>/<int:pk>/pdf/",
        receipts.request_receipt_download,
        name="request-receipt-pdf",
    ),
    # access and colleagues
    path("login/", access.login_view, name="login"),
    path("logout/", access.logout_view, name="logout"),
    path("password/", access.password_change, name="password-change"),
    path("password/reset/", access.password_reset, name="password-reset"),
    path("password/reset/sent/", access.password_reset_done, name="password-reset-done"),
    path(
        "password/reset/<uidb64>/<token>/",
        access.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("password/reset/done/", access.password_reset_complete, name="password-reset-complete"),
    path("invitations/<str:token>/", access.invitation_accept, name="invitation-accept"),
    path("switch/", members.switch_tenant, name="switch-tenant"),
    path("members/", members.members, name="members"),
    path("members/invite/", members.member_invite, name="member-invite"),
    path("members/<int:pk>/role/", members.member_role, name="member-role"),
    path("members/<int:pk>/remove/", members.member_remove, name="member-remove"),
    path("contacts/add/", members.contact_add, name="contact-add"),
    path("contacts/reminders/", members.reminder_pref, name="reminder-pref"),
    path("profile/", members.profile, name="profile"),
    path("contacts/<int:pk>/remove/", members.contact_remove, name="contact-remove"),
    path("invitations/<int:pk>/revoke/", members.invitation_revoke, name="invitation-revoke"),
]
