"""The organisation: org units as a tree, and positions with their kind."""

import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class PositionKind(enum.StrEnum):
    """Kinds of jabatan in PermenPANRB 6/2022."""

    JPT = "JPT"
    ADMINISTRATOR = "Administrator"
    PENGAWAS = "Pengawas"
    PELAKSANA = "Pelaksana"
    FUNGSIONAL = "Fungsional"


class OrgUnit(db.Model):
    """A unit kerja; units form a tree through `parent_id`."""

    __tablename__ = "org_unit"
    __table_args__ = (sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_unit.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    parent: Mapped["OrgUnit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["OrgUnit"]] = relationship(back_populates="parent", order_by="OrgUnit.name")

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"


class Position(db.Model):
    """A jabatan, e.g. "Perawat Ahli Pertama" (Fungsional)."""

    __tablename__ = "position"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[PositionKind] = mapped_column(
        sa.Enum(
            PositionKind,
            name="position_kind",
            native_enum=False,
            length=20,
            values_callable=lambda kinds: [k.value for k in kinds],
            create_constraint=True,
        )
    )

    # Functional posts (Fungsional) only: the jenjang whose annual coefficient earns credit points.
    jenjang_code: Mapped[str | None] = mapped_column(sa.ForeignKey("credit_jenjang.code"))

    jenjang: Mapped["CreditJenjang | None"] = relationship()

    def __repr__(self) -> str:
        return f"<Position {self.name}>"


class CreditJenjang(db.Model):
    """A jenjang of functional posts with its annual credit-point coefficient (PermenPANRB 1/2023),
    kept as data that HR edits when the regulation changes."""

    __tablename__ = "credit_jenjang"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    category: Mapped[str] = mapped_column(sa.String(20))  # keterampilan or keahlian
    coefficient: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    rank: Mapped[int] = mapped_column(default=0)  # order within the list, lowest jenjang first
