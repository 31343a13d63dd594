"""Org units and positions: create and edit, with the loop check on the unit tree."""

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit
from app.extensions import db
from app.models import CreditJenjang, Employee, OrgUnit, Position, PositionKind
from app.services import Refused
from app.services.hierarchy import would_loop


def save_unit(unit: OrgUnit | None, code: str, name: str, parent_id: int | None) -> OrgUnit:
    """Create or update an org unit; commits. Raises Refused with per-field messages."""
    errors = {}
    other = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == code))
    if other is not None and other is not unit:
        errors["code"] = _("Kode %(code)s sudah dipakai oleh %(name)s.", code=code, name=other.name)
    parent = db.session.get(OrgUnit, parent_id) if parent_id else None
    if parent_id and parent is None:
        errors["parent_id"] = _("Unit induk tidak ditemukan.")
    elif unit is not None and parent is not None:
        if parent.id == unit.id or would_loop(OrgUnit.parent_id, OrgUnit.id, unit.id, parent.id):
            errors["parent_id"] = _("Unit induk tidak boleh unit ini sendiri atau salah satu sub-unitnya.")
    if errors:
        db.session.rollback()
        raise Refused(errors)
    created = unit is None
    if created:
        unit = OrgUnit()
        db.session.add(unit)
    before = None if created else {"code": unit.code, "name": unit.name, "parent_id": unit.parent_id}
    unit.code, unit.name, unit.parent = code, name, parent
    db.session.flush()
    after = {"code": unit.code, "name": unit.name, "parent_id": unit.parent_id}
    if created:
        audit.record("org_unit.created", unit, data=after)
    elif before != after:
        audit.record("org_unit.updated", unit, data={"before": before, "after": after})
    db.session.commit()
    return unit


def set_unit_active(unit: OrgUnit, active: bool) -> None:
    """Deactivate an empty unit, or reactivate one; commits."""
    if unit.active == active:
        return
    if not active:
        staff = db.session.scalar(
            sa.select(sa.func.count()).where(Employee.unit_id == unit.id, Employee.active)
        )
        subunits = db.session.scalar(
            sa.select(sa.func.count()).where(OrgUnit.parent_id == unit.id, OrgUnit.active)
        )
        if staff or subunits:
            raise Refused(
                _(
                    "Unit %(name)s masih memiliki %(staff)d pegawai aktif dan %(sub)d sub-unit aktif; "
                    "pindahkan dulu sebelum menonaktifkan.",
                    name=unit.name,
                    staff=staff,
                    sub=subunits,
                )
            )
    unit.active = active
    audit.record("org_unit.activated" if active else "org_unit.deactivated", unit)
    db.session.commit()


def save_position(
    position: Position | None, name: str, kind: str, jenjang_code: str | None = None
) -> Position:
    """Add or change a position (its jenjang only for a functional post); audited; commits."""
    errors = {}
    same = db.session.scalar(sa.select(Position).where(sa.func.lower(Position.name) == name.lower()))
    if same is not None and same is not position:
        errors["name"] = _("Jabatan %(name)s sudah ada.", name=name)
    kind = PositionKind(kind)
    jenjang_code = jenjang_code or None
    if jenjang_code is not None and kind is not PositionKind.FUNGSIONAL:
        errors["jenjang_code"] = _(
            "Jenjang hanya untuk jabatan fungsional; kosongkan atau pilih jenis Fungsional."
        )
    elif jenjang_code is not None and db.session.get(CreditJenjang, jenjang_code) is None:
        errors["jenjang_code"] = _("Jenjang tidak dikenal.")
    if errors:
        raise Refused(errors)
    created = position is None
    before = (
        None
        if created
        else {"name": position.name, "kind": position.kind.value, "jenjang": position.jenjang_code}
    )
    if created:
        position = Position()
        db.session.add(position)
    position.name, position.kind, position.jenjang_code = name, kind, jenjang_code
    after = {"name": name, "kind": kind.value, "jenjang": jenjang_code}
    if created:
        audit.record("position.created", position, data=after)
    elif before != after:
        audit.record("position.updated", position, data={"before": before, "after": after})
    db.session.commit()
    return position
