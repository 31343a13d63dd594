"""The forms of the dialog kinerja page: a new record (with up to three follow-up rows and a file
or link), a record changed by its author, an attachment, the employee's acknowledgement, and a
follow-up marked done or reopened.

Each form has a `key` that starts its field ids and names it on the page (`record-new`,
`record-12`, `follow-up-31`); a refused one comes back as typed (`DialogForms`). The workflow
services (app/workflow/monitoring/dialog.py) remain the authority; their refusals land on the
same fields, a follow-up row's as `follow_ups-<n>-<field>`.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import Form as PlainForm
from wtforms import FormField, HiddenField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from app.forms.base import Form, Rows, Select, options, strip
from app.forms.reassign import LocalDate

# What the service stores (app/workflow/monitoring/dialog.py).
NOTES, ACTION, DONE_NOTE, URL = 5000, 1000, 2000, 2000
FOLLOW_UP_ROWS = 3
OWNER_CHOICES = options([("employee", _l("Pegawai")), ("rater", _l("Pejabat penilai"))])


def _at_most(label, limit: int):
    return Length(max=limit, message=_l("%(label)s paling banyak %(n)d karakter.", label=label, n=limit))


class DialogForm(Form):
    """A form of the dialog page: CSRF, the record's version where it changes one, and its `key`."""

    version = HiddenField()

    def __init__(self, key: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key = key
        self.general_errors: list[str] = []
        for field in self:
            if field.type == "FormField" or field.type == "Rows":
                continue
            field.id = f"{key}-{field.short_name}"
            if field.label.field_id:
                field.label.field_id = field.id

    def messages(self) -> list[str]:
        """Every message of the refused form, once each: the form's own first, then its fields'."""
        found = list(self.general_errors)
        for field in self:
            if isinstance(field.errors, dict):  # a row of follow-ups
                continue
            for message in field.errors:
                if isinstance(message, dict):
                    found += [str(m) for errors in message.values() for m in errors]
                else:
                    found.append(str(message))
        for row in getattr(self, "follow_ups", []):
            for sub in row.form:
                found += [str(m) for m in sub.errors]
        return list(dict.fromkeys(found))


class FollowUpRow(PlainForm):
    """One agreed action: what, by when, whose."""

    action = StringField(
        _l("Tindak lanjut"), filters=[strip], validators=[_at_most(_l("Tindak lanjut"), ACTION)]
    )
    due_on = LocalDate(_l("Tenggat"), validators=[Optional()])
    owner = Select(_l("Penanggung jawab"), choices=OWNER_CHOICES, default="employee")


class RecordFields(DialogForm):
    """Kind, date and notes of a record (`kind.choices`: what this person may write)."""

    kind = Select(_l("Jenis catatan"))
    held_on = LocalDate(_l("Tanggal pelaksanaan"))
    notes = TextAreaField(
        _l("Catatan"),
        filters=[strip],
        validators=[DataRequired(_l("Catatan wajib diisi.")), _at_most(_l("Catatan"), NOTES)],
        render_kw={"rows": 4},
    )

    def validate_held_on(self, field):
        """A date must be given (the service says the same)."""
        if not (field.raw_data and str(field.raw_data[0]).strip()):
            field.errors.clear()
            raise StopValidation(str(_l("Isi tanggal pelaksanaan.")))


class AttachmentFields:
    """A file (PDF, JPG, PNG; the service checks its content) or a link."""

    file = FileField(_l("Lampiran berkas"))
    url = URLField(_l("atau tautan"), filters=[strip], validators=[Optional(), _at_most(_l("Tautan"), URL)])


class NewRecordForm(AttachmentFields, RecordFields):
    """A new record with up to three follow-up rows and an optional attachment."""

    follow_ups = Rows(FormField(FollowUpRow), min_entries=FOLLOW_UP_ROWS, max_entries=FOLLOW_UP_ROWS)


class EditRecordForm(RecordFields):
    """Its author changes a record until the employee acknowledges it."""


class AttachmentForm(AttachmentFields, DialogForm):
    """Attach one more file or link to a record."""

    def validate(self, extra_validators=None) -> bool:
        """A file or a link, one of the two."""
        valid = super().validate(extra_validators)
        upload = self.file.data
        if valid and not (upload is not None and getattr(upload, "filename", "")) and not self.url.data:
            self.file.errors = [*self.file.errors, str(_l("Pilih berkas atau isi tautan."))]
            valid = False
        return valid


class ActionForm(DialogForm):
    """A button: acknowledge, reopen."""


class DoneForm(DialogForm):
    """The owner marks a follow-up done, with an optional note."""

    note = StringField(
        _l("Catatan penyelesaian"),
        filters=[strip],
        validators=[_at_most(_l("Catatan penyelesaian"), DONE_NOTE)],
    )


class DialogForms:
    """Every form of the dialog page, built when the template asks; the posted one, when refused,
    comes back as it was typed."""

    def __init__(self, kind_choices: list[tuple[str, str]], refused: DialogForm | None = None, today=None):
        self.kind_choices, self.refused, self.today = kind_choices, refused, today

    def is_refused(self, key: str) -> bool:
        """Whether the form of this key is the refused one (its <details> opens)."""
        return self.refused is not None and self.refused.key == key

    def _get(self, key: str, build, version=None, **data):
        form = self.refused if self.is_refused(key) else build(key, formdata=None, **data)
        if version is not None:
            form.version.data = str(version)
        return form

    def new_record(self) -> NewRecordForm:
        """Add a record (`record-new`)."""
        form = self._get("record-new", NewRecordForm, data={"held_on": self.today})
        form.kind.choices = options(self.kind_choices)
        return form

    def edit(self, record) -> EditRecordForm:
        """Change a record (`record-12`)."""
        data = {"kind": record.kind.value, "held_on": record.held_on, "notes": record.notes}
        form = self._get(f"record-{record.id}", EditRecordForm, record.version, data=data)
        form.kind.choices = options(self.kind_choices)
        return form

    def attach(self, record) -> AttachmentForm:
        """Attach to a record (`attach-12`)."""
        return self._get(f"attach-{record.id}", AttachmentForm, record.version)

    def acknowledge(self, record) -> ActionForm:
        """Acknowledge a record (`ack-12`)."""
        return self._get(f"ack-{record.id}", ActionForm, record.version)

    def done(self, follow_up) -> DoneForm:
        """Mark a follow-up done (`follow-up-31`)."""
        return self._get(f"follow-up-{follow_up.id}", DoneForm)

    def reopen(self, follow_up) -> ActionForm:
        """Reopen a follow-up (`reopen-31`)."""
        return self._get(f"reopen-{follow_up.id}", ActionForm)
