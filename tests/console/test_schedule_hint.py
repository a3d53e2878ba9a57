"""The scheduling hint states what CC 548-4(2) and (3) require, and that the days are policy."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import translation

from web.console.forms_versions import VersionMetaForm

TEMPLATE = Path(settings.BASE_DIR) / "templates/agreements/console/version_schedule.html"


def test_schedule_hint_r2_548_4_2_is_the_method_and_548_4_3_the_time() -> None:
    with translation.override("ja"):
        ja = str(VersionMetaForm().fields["notice_on"].help_text)
    assert "この日数は当社の方針です" in ja
    assert "インターネットの利用その他の適切な方法により周知することを求め" in ja
    assert "同条第3項は、第1項2号による変更は効力発生時期が到来するまでに周知しなければ" in ja
    assert "効力発生日より前の適切な時期" not in ja
    with translation.override("en"):
        en = str(VersionMetaForm().fields["notice_on"].help_text)
    assert "through the internet or another appropriate method, and 548-4(3)" in en
    template = TEMPLATE.read_text(encoding="utf-8")
    assert "効力発生日より前の適切な時期" not in template
    assert "インターネットの利用その他の適切な方法" in template
