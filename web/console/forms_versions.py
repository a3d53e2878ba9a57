"""Forms of the console's revision pages (draft editor, change categories, schedule,
withdraw): they check shapes; the services check the rules."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from agreements.enums import ChangeCategory, ConsentMode, LegalBasis
from agreements.models import TermsVersion
from agreements.rulebook import rulebook_for
from agreements.services.version_drafts import BASE_STATUSES
from web.console.widgets import DATE


def fit_to_rulebook(fields: dict[str, forms.Field], product_code: str | None) -> None:
    """Fit the consent fields to the product's terms before anything is chosen.

    R3: a product whose terms have no deemed-consent clause never calls a mode みなし同意; its
    `deemed` choice is a request for an answer, and the field warns. R2: without a change
    clause a CC 548-4(1)(ii) change lacks one of the factors the Code weighs, so the legal
    basis warns too."""
    if product_code is None:
        return
    book = rulebook_for(product_code)
    if not book.has("R2"):
        fields["legal_basis"].help_text = format_lazy(
            "{} {}",
            fields["legal_basis"].help_text,
            _(
                "この製品の入手できる規約本文には、規約の変更についての定め（変更条項）が見当たりません。"
                "民法548条の4第1項2号は変更条項の有無を合理性の判断要素としているため、2号による変更は根拠が弱くなります。"
                "1号に当たらない内容の変更は、個別の同意（明示の同意方式）によることをお勧めします。"
            ),
        )
    if book.has("R3"):
        return
    field = fields["consent_mode"]
    field.choices = [  # type: ignore[attr-defined]
        (ConsentMode.EXPLICIT.value, ConsentMode.EXPLICIT.label),
        (ConsentMode.DEEMED.value, _("回答のお願い（みなし同意の定めはありません）")),
    ]
    field.help_text = _(
        "この製品の入手できる規約本文には、回答がないことを同意とみなす定めがありません。"
        "「回答のお願い」では、回答のないお客様は同意したものとして扱われません。"
        "民法第548条の4に基づく変更なら改定は適用され「回答なし（改定は適用されています）」と、"
        "それ以外は「未同意（期限超過）」と表示されます。内容を変更する改定では「明示の同意」を選んでください。"
    )


class DraftCreateForm(forms.Form):
    label = forms.CharField(
        label=_("版の名前"),
        max_length=64,
        help_text=_(
            "社内用の名前です（例: 2026-04 改定）。文書の中で一意にしてください。"
            "お客様には表示名（既定は「効力発生日＋改定」）が表示されます。"
        ),
    )
    based_on = forms.ModelChoiceField(
        label=_("元にする版"),
        queryset=TermsVersion.objects.none(),
        required=False,
        empty_label=_("現在有効な版"),
    )

    def __init__(self, *args, document=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if document is not None:
            # Only versions customers have or have been told of (the service refuses others).
            self.fields["based_on"].queryset = document.versions.filter(
                status__in=BASE_STATUSES
            ).order_by("-effective_on", "-pk")
        field = self.fields["based_on"]
        if isinstance(field, forms.ModelChoiceField):
            field.label_from_instance = lambda v: f"{v.label}（{v.get_status_display()}）"


class VersionMetaForm(forms.ModelForm):
    """The draft's own fields; dates are checked in full when the version is scheduled."""

    class Meta:
        model = TermsVersion
        fields = [
            "label",
            "public_name",
            "title",
            "consent_mode",
            "legal_basis",
            "rationale",
            "change_clause",
            "notice_on",
            "effective_on",
            "notice_title",
            "notice_body",
            "last_revised_text",
        ]
        widgets = {
            "notice_on": DATE,
            "effective_on": DATE,
            "rationale": forms.Textarea(attrs={"rows": 4}),
            "notice_body": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "legal_basis": _(
                "民法548条の4第1項: 1号（お客様の一般の利益に適合）または2号（契約の目的に反せず合理的）。いずれでもない変更は個別の同意（明示の同意方式）が必要です。"
            ),
            "rationale": _("変更の必要性、変更後の内容の相当性、根拠とする変更条項など"),
            "notice_title": _("空欄の場合は「（題名）改定のお知らせ」"),
            "notice_body": _("空欄の場合は定型の前文"),
            "last_revised_text": _("例: 2026年4月1日（空欄の場合は効力発生日）"),
        }

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["legal_basis"].required = False
        if self.instance.pk is not None:
            fit_to_rulebook(self.fields, self.instance.document.product.code)
        self.fields["notice_on"].help_text = _(
            "効力発生日は掲示日から%(days)s日以上後にしてください"
            "（民法548条の4第1項2号による変更は%(reasonable)s日以上後）。"
            "この日数は当社の方針です。民法548条の4第2項は、変更の旨、変更後の内容及び効力発生時期を"
            "インターネットの利用その他の適切な方法により周知することを求め、同条第3項は、"
            "第1項2号による変更は効力発生時期が到来するまでに周知しなければ効力を生じないと定めています。"
        ) % {
            "days": settings.TERMS_NOTICE_LEAD_DAYS,
            "reasonable": settings.TERMS_NOTICE_LEAD_DAYS_REASONABLE,
        }

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        notice_on, effective_on = cleaned.get("notice_on"), cleaned.get("effective_on")
        if notice_on and effective_on and effective_on <= notice_on:
            self.add_error("effective_on", _("効力発生日は掲示日より後にしてください。"))
        return cleaned


class ArticleForm(forms.Form):
    number = forms.IntegerField(label=_("条番号"), min_value=1)
    title = forms.CharField(
        label=_("表題"), max_length=200, help_text=_("括弧なしで入力（例: 本規約の変更）")
    )
    body = forms.CharField(
        label=_("本文"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("項は「1.」、号は「(1)」で始めて1行ずつ入力します。"),
    )


class PasteTextForm(forms.Form):
    text = forms.CharField(
        label=_("規約の全文"),
        widget=forms.Textarea(attrs={"rows": 18, "class": "text-large"}),
        help_text=_(
            "題名、第１条（…）からの全条文、「以上」「最終改定：…」まで貼り付けると、現在の条文はすべて置き換えられます。"
            "一部の条だけを貼り付けた場合は、同じ番号の条だけが置き換わります。"
        ),
    )


class CategoryForm(forms.Form):
    title = forms.CharField(label=_("区分の表題"), max_length=200, required=False)
    kind = forms.ChoiceField(
        label=_("種類"), choices=ChangeCategory.choices, initial=ChangeCategory.SUBSTANTIVE
    )


CategoryFormSet = forms.formset_factory(CategoryForm, extra=2, max_num=10)


class ScheduleForm(forms.Form):
    notice_on = forms.DateField(label=_("掲示日"), widget=DATE)
    effective_on = forms.DateField(label=_("効力発生日"), widget=DATE)
    consent_mode = forms.ChoiceField(label=_("同意の方式"), choices=ConsentMode.choices)
    legal_basis = forms.ChoiceField(
        label=_("法的根拠（民法548条の4）"),
        choices=LegalBasis.choices,
        widget=forms.RadioSelect,
    )
    rationale = forms.CharField(
        label=_("変更の必要性・相当性"), widget=forms.Textarea(attrs={"rows": 4})
    )
    # R4: off by default; silence limits nobody's use unless a publisher states why it may.
    gating_enabled = forms.BooleanField(
        label=_("回答のないお客様の利用を制限する（利用制限の方針）"),
        required=False,
        help_text=_(
            "既定はオフです。どちらの規約にも、回答のないお客様へのサービス提供を止める定めはありません。"
            "オンにすると、猶予期間の経過後、未同意のテナントは状態APIで allowed=false になります。"
            "明示の同意方式の改定にのみ設定できます。"
        ),
    )
    gating_grace_days = forms.IntegerField(
        label=_("利用制限までの猶予期間（効力発生日からの日数）"),
        required=False,
        min_value=1,
        max_value=365,
    )
    gating_rationale = forms.CharField(
        label=_("利用制限の法的根拠"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("回答のないお客様の利用を制限できる根拠（契約条項、個別の合意など）"),
    )
    # The hash of the text shown on the review step; scheduling refuses if the text changed.
    body_hash = forms.RegexField(regex=r"^[0-9a-f]{64}$", required=False, widget=forms.HiddenInput)

    def __init__(self, *args, product_code: str | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        fit_to_rulebook(self.fields, product_code)

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        notice_on, effective_on = cleaned.get("notice_on"), cleaned.get("effective_on")
        if notice_on and effective_on and effective_on <= notice_on:
            self.add_error("effective_on", _("効力発生日は掲示日より後にしてください。"))
        if cleaned.get("gating_enabled"):
            if not cleaned.get("gating_grace_days"):
                self.add_error("gating_grace_days", _("猶予期間を入力してください。"))
            if not (cleaned.get("gating_rationale") or "").strip():
                self.add_error("gating_rationale", _("法的根拠を入力してください。"))
        return cleaned


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("撤回の理由"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("撤回はお知らせとともに公開され、通知済みのお客様に連絡されます。"),
    )


class SendBackForm(forms.Form):
    comment = forms.CharField(
        label=_("差し戻しのコメント"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "直してほしい点を書いてください。編集担当者の編集画面に表示され、承認履歴に残ります。"
        ),
    )
