"""Forms for HR's decisions on evaluations that get no result: withdraw, "tidak dinilai", take back."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from app.domain import WithdrawalReason
from app.forms.base import Chosen, Form, Select, options, strip

NOTE_LIMIT = Length(max=2000, message=_l("Paling banyak 2000 karakter."))


class WithdrawForm(Form):
    """Withdraw one evaluation from its cycle."""

    reason = Select(
        _l("Alasan pengecualian"),
        choices=options([("", _l("— pilih alasan —"))] + [(r.value, r.label) for r in WithdrawalReason]),
        validators=[Chosen(_l("Pilih alasan pengecualian."))],
    )
    note = TextAreaField(
        _l("Keterangan (misalnya nomor SK dan tanggal berlakunya)"), filters=[strip], validators=[NOTE_LIMIT]
    )
    version = HiddenField()


class NotRatedForm(Form):
    """Mark one evaluation, or every one left without a result, "tidak dinilai"."""

    note = TextAreaField(
        _l("Alasan tidak dinilai"),
        filters=[strip],
        validators=[NOTE_LIMIT],
        description=_l("Dikirim lewat email kepada pegawai yang bersangkutan dan dicatat di log audit."),
    )
    version = HiddenField()


class ReinstateForm(Form):
    """Take a withdrawal or a "tidak dinilai" back."""

    version = HiddenField()
