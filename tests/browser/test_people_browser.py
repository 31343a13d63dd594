"""In a real browser: HR signs in and opens the employee list; a new user must change the password."""

import pytest

from app.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, identifier: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(identifier)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()


def test_hr_signs_in_and_searches_the_employee_list(page, make):
    unit = make.unit("Puskesmas Rakumpit")
    head = make.employee("dr. Yohanes Saputra", unit=unit)
    make.employee("Maria Ulfah, S.Kep., Ners", supervisor=head)
    make.employee("Rina Anggraini, A.Md.Keb.", supervisor=head)
    hr = make.employee("Petugas Kepegawaian", roles={Role.EMPLOYEE, Role.HR})

    sign_in(page, hr.email)
    page.get_by_role("link", name="Pegawai", exact=True).click()
    assert page.get_by_role("heading", name="Pegawai").is_visible()
    assert page.get_by_role("cell", name="Maria Ulfah, S.Kep., Ners").is_visible()

    page.get_by_placeholder("Cari nama, NIP atau email").fill("rina")
    page.get_by_role("button", name="Cari").click()
    assert page.get_by_role("cell", name="Rina Anggraini, A.Md.Keb.").is_visible()
    assert page.get_by_role("cell", name="Maria Ulfah, S.Kep., Ners").count() == 0

    page.get_by_role("link", name="Rina Anggraini, A.Md.Keb.").click()
    assert page.get_by_text("dr. Yohanes Saputra").is_visible()


def test_wrong_password_keeps_the_identifier_and_explains(page, make):
    employee = make.employee("Siti Aminah")
    sign_in(page, employee.nip, "salah-sekali")
    assert page.get_by_text("NIP/email atau kata sandi salah").is_visible()
    assert page.get_by_label("NIP atau email").input_value() == employee.nip
    assert page.get_by_label("Kata sandi").input_value() == ""


def test_initial_password_must_be_changed_first(page, make):
    employee = make.employee("Budi Santoso", must_change_password=True)
    sign_in(page, employee.nip)
    assert page.get_by_role("heading", name="Ganti kata sandi").is_visible()
    page.goto("/people/team")
    assert page.get_by_role("heading", name="Ganti kata sandi").is_visible()
    page.get_by_label("Kata sandi saat ini").fill(PASSWORD)
    page.get_by_label("Kata sandi baru", exact=True).fill("baru-dan-kuat-1")
    page.get_by_label("Ulangi kata sandi baru").fill("baru-dan-kuat-1")
    page.get_by_role("button", name="Simpan kata sandi").click()
    assert page.get_by_text("Kata sandi berhasil diganti.").is_visible()
    assert page.get_by_role("heading", name="Selamat datang, Budi Santoso").is_visible()
