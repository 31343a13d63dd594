"""Sign-in and password forms."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.forms.base import Form, strip


class LoginForm(Form):
    """NIP or e-mail plus password."""

    identifier = StringField(
        _l("NIP atau email"),
        filters=[strip],
        validators=[
            DataRequired(_l("Isi NIP atau email.")),
            Length(max=254, message=_l("Terlalu panjang.")),
        ],
    )
    password = PasswordField(_l("Kata sandi"), validators=[DataRequired(_l("Isi kata sandi."))])


class ChangePasswordForm(Form):
    """The user's own password change."""

    current_password = PasswordField(
        _l("Kata sandi saat ini"), validators=[DataRequired(_l("Isi kata sandi saat ini."))]
    )
    new_password = PasswordField(_l("Kata sandi baru"), validators=[DataRequired(_l("Isi kata sandi baru."))])
    confirm = PasswordField(
        _l("Ulangi kata sandi baru"),
        validators=[
            DataRequired(_l("Ulangi kata sandi baru.")),
            EqualTo("new_password", message=_l("Kedua kata sandi baru tidak sama.")),
        ],
    )


class ForgotPasswordForm(Form):
    """Ask for a reset link."""

    identifier = StringField(
        _l("NIP atau email"),
        filters=[strip],
        validators=[DataRequired(_l("Isi NIP atau email.")), Length(max=254, message=_l("Terlalu panjang."))],
    )


class ResetPasswordForm(Form):
    """Choose a new password from a reset link."""

    new_password = PasswordField(_l("Kata sandi baru"), validators=[DataRequired(_l("Isi kata sandi baru."))])
    confirm = PasswordField(
        _l("Ulangi kata sandi baru"),
        validators=[
            DataRequired(_l("Ulangi kata sandi baru.")),
            EqualTo("new_password", message=_l("Kedua kata sandi baru tidak sama.")),
        ],
    )
