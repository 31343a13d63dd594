"""People: employees with their supervisor link, and the accounts they sign in with."""

import enum
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.org import OrgUnit, Position
from app.models.types import UTCDateTime


class EmploymentType(enum.StrEnum):
    """PNS (career civil servant) or PPPK (contract civil servant)."""

    PNS = "PNS"
    PPPK = "PPPK"


# Pangkat and golongan ruang of PNS (PP 99/2000), lowest first, as printed on documents.
PNS_RANKS: tuple[str, ...] = (
    "Juru Muda, I/a",
    "Juru Muda Tk. I, I/b",
    "Juru, I/c",
    "Juru Tk. I, I/d",
    "Pengatur Muda, II/a",
    "Pengatur Muda Tk. I, II/b",
    "Pengatur, II/c",
    "Pengatur Tk. I, II/d",
    "Penata Muda, III/a",
    "Penata Muda Tk. I, III/b",
    "Penata, III/c",
    "Penata Tk. I, III/d",
    "Pembina, IV/a",
    "Pembina Tk. I, IV/b",
    "Pembina Utama Muda, IV/c",
    "Pembina Utama Madya, IV/d",
    "Pembina Utama, IV/e",
)
# Golongan of PPPK (Perpres 98/2020): a roman numeral, no pangkat name.
PPPK_RANKS: tuple[str, ...] = tuple("I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII".split())
RANK_MAX = 40


def rank_of(text: str, employment_type: "EmploymentType | None") -> str | None:
    """The listed rank `text` names for that employment type, or None.

    Case and spacing do not matter; a PNS rank may also be given by its golongan ruang alone
    ("III/b"), a PPPK golongan with the word "golongan" before it ("Golongan IX").
    """
    key = " ".join(text.split()).lower()
    if employment_type is EmploymentType.PPPK:
        key = key.removeprefix("golongan ").strip()
        return next((rank for rank in PPPK_RANKS if rank.lower() == key), None)
    if employment_type is EmploymentType.PNS:
        return next(
            (rank for rank in PNS_RANKS if key in (rank.lower(), rank.rsplit(", ", 1)[1].lower())),
            None,
        )
    return None


class Role(enum.StrEnum):
    """Granted roles; supervisor and appeal handler follow from the hierarchy instead."""

    EMPLOYEE = "employee"
    HR = "hr"
    ADMIN = "admin"


def _enum(enum_cls: type[enum.Enum], name: str, length: int) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        create_constraint=True,
    )


class Employee(db.Model):
    """A pegawai: an ASN with a NIP, a unit, a position and (usually) a supervisor."""

    __tablename__ = "employee"
    __table_args__ = (
        sa.CheckConstraint("supervisor_id IS NULL OR supervisor_id <> id", name="not_own_supervisor"),
        # The few people no longer active, found without reading everyone (how many a publication
        # emails: app/workflow/cycles.py announced_to). Queries must say `NOT active` to use it.
        sa.Index(
            "ix_employee_inactive",
            "id",
            postgresql_where=sa.text("NOT active"),
            sqlite_where=sa.text("NOT active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nip: Mapped[str] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    employment_type: Mapped[EmploymentType] = mapped_column(_enum(EmploymentType, "employment_type", 8))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_unit.id"), index=True)
    position_id: Mapped[int] = mapped_column(sa.ForeignKey("position.id"), index=True)
    # Pangkat/golongan ruang as printed on documents: one of PNS_RANKS or PPPK_RANKS.
    rank: Mapped[str | None] = mapped_column(sa.String(RANK_MAX))
    supervisor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow, onupdate=clock.utcnow)

    unit: Mapped[OrgUnit] = relationship()
    position: Mapped[Position] = relationship()
    supervisor: Mapped["Employee | None"] = relationship(remote_side=[id], back_populates="subordinates")
    subordinates: Mapped[list["Employee"]] = relationship(
        back_populates="supervisor", order_by="Employee.name"
    )
    account: Mapped["Account | None"] = relationship(back_populates="employee")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Employee {self.nip}>"


class Account(UserMixin, db.Model):
    """Sign-in credentials and granted roles; tied to an employee, or a system account."""

    __tablename__ = "account"
    __table_args__ = (
        sa.CheckConstraint("employee_id IS NOT NULL OR email IS NOT NULL", name="has_identity"),
        # The few accounts of no employee (system administrators), found without a full scan.
        sa.Index(
            "ix_account_system",
            "id",
            postgresql_where=sa.text("employee_id IS NULL"),
            sqlite_where=sa.text("employee_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id"), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_nonce: Mapped[str] = mapped_column(sa.String(32), default=lambda: secrets.token_hex(8))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)

    employee: Mapped[Employee | None] = relationship(back_populates="account")
    role_rows: Mapped[list["AccountRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    def get_id(self) -> str:
        """Flask-Login id; the nonce makes a password change end other sessions."""
        return f"{self.id}.{self.session_nonce}"

    @property
    def is_active(self) -> bool:
        """Deactivated accounts and accounts of deactivated employees cannot sign in."""
        return self.active and (self.employee is None or self.employee.active)

    @property
    def roles(self) -> set[Role]:
        """The granted roles."""
        return {row.role for row in self.role_rows}

    def has_role(self, role: Role) -> bool:
        """Whether `role` was granted."""
        return role in self.roles

    def set_roles(self, roles: set[Role]) -> None:
        """Replace the granted roles."""
        keep = [row for row in self.role_rows if row.role in roles]
        missing = roles - {row.role for row in keep}
        self.role_rows = keep + [AccountRole(role=role) for role in sorted(missing)]

    @property
    def name(self) -> str:
        """The name to show."""
        if self.employee is not None:
            return self.employee.name
        return self.display_name or self.email or "?"

    @property
    def login_email(self) -> str | None:
        """The e-mail address this account signs in with."""
        return self.employee.email if self.employee is not None else self.email

    def __repr__(self) -> str:
        return f"<Account {self.id}>"


class AccountRole(db.Model):
    """One role granted to one account."""

    __tablename__ = "account_role"

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role", 16), primary_key=True)


class PasswordResetToken(db.Model):
    """A password-reset link, kept only as the SHA-256 of its secret.

    The secret is made by the mail relay at the moment it sends the email (see
    `app.notify.secret_links`), so it is never written to the outbox or anywhere else: nobody who
    reads the database or the outbox page can use the link.
    """

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @staticmethod
    def digest(token: str) -> str:
        """The stored form of a secret."""
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
