"""HR imports a CSV from the web: upload, preview, confirm; bad files explain themselves."""

import io

import sqlalchemy as sa

from app.models import Employee
from tests.conftest import csrf_token, login

HEADER = "nip;nama;email;jenis_pegawai;kode_unit;jabatan;jenis_jabatan;nip_atasan\r\n"


def upload(client, content: bytes, kind: str = "employees", filename: str = "pegawai.csv"):
    token = csrf_token(client, "/people/import")
    return client.post(
        "/people/import",
        data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def count_employees(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Employee))


def test_preview_then_confirm(client, make, hr, db):
    unit = make.unit("Puskesmas Rakumpit", code="PKM")
    login(client, hr.nip)
    body = HEADER + "199212192019032004;Debora Yuliani;debora@contoh.go.id;PNS;PKM;Perawat;Fungsional;\r\n"
    page = upload(client, ("\ufeff" + body).encode()).get_data(as_text=True)
    assert "Pratinjau: 1 baru, 0 diubah" in page and "Debora Yuliani" in page
    assert count_employees(db) == 1  # only HR so far
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/people/import/confirm", data={"csrf_token": csrf_token(client, "/"), "token": token}
    )
    assert response.status_code == 302
    debora = db.session.scalar(sa.select(Employee).where(Employee.nip == "199212192019032004"))
    assert debora.unit_id == unit.id
    # the same preview cannot be applied twice
    again = client.post(
        "/people/import/confirm",
        data={"csrf_token": csrf_token(client, "/"), "token": token},
        follow_redirects=True,
    )
    assert "sudah dipakai" in again.get_data(as_text=True)


def test_bad_rows_are_listed_with_line_numbers_and_nothing_is_kept(client, make, hr, db):
    make.unit("Puskesmas", code="PKM")
    login(client, hr.nip)
    body = (
        HEADER
        + "199212192019032004;Debora;debora@contoh.go.id;PNS;PKM;Perawat;Fungsional;\r\n"
        + "19921219;Pendek;pendek@contoh.go.id;PNS;PKM;Perawat;Fungsional;\r\n"
        + "199001012015031001;Unit Salah;salah@contoh.go.id;PNS;XYZ;Perawat;Fungsional;\r\n"
    )
    page = upload(client, body.encode()).get_data(as_text=True)
    assert "2 kesalahan" in page
    assert "<td>3</td>" in page and "<td>4</td>" in page
    assert "Simpan impor" not in page
    assert count_employees(db) == 1


def test_wrong_encoding_and_missing_columns_are_explained(client, hr, db):
    login(client, hr.nip)
    latin1 = (HEADER + "199212192019032004;Débora;d@contoh.go.id;PNS;PKM;Perawat;Fungsional;\r\n").encode(
        "latin-1"
    )
    assert "UTF-8" in upload(client, latin1).get_data(as_text=True)
    page = upload(client, b"nip,nama\n199212192019032004,Debora\n").get_data(as_text=True)
    assert "email" in page and "kode_unit" in page
    assert count_employees(db) == 1


def test_an_empty_file_is_refused(client, hr):
    login(client, hr.nip)
    page = upload(client, b"").get_data(as_text=True)
    assert "tidak berisi data" in page


def test_no_file_is_refused_with_a_message(client, hr):
    login(client, hr.nip)
    token = csrf_token(client, "/people/import")
    page = client.post("/people/import", data={"csrf_token": token, "kind": "employees"}).get_data(
        as_text=True
    )
    assert "Pilih berkas CSV" in page


def test_an_oversized_upload_is_refused_with_a_message(app, client, hr, db):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    login(client, hr.nip)
    response = upload(client, b"x" * (200 * 1024))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Berkas terlalu besar" in page
    assert count_employees(db) == 1
