"""credit points of functional posts: jenjang with their annual coefficient, and a position's jenjang

The eight jenjang of PermenPANRB 1/2023 are seeded with their coefficients; HR edits them on the
organisation page. Positions keep no jenjang until HR sets one.

Revision ID: c41f9a2d7e10
Revises: b7d4e1a09c25
Create Date: 2026-11-30 05:35:00.000000

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "c41f9a2d7e10"
down_revision = "b7d4e1a09c25"
branch_labels = None
depends_on = None

JENJANG = [
    ("pemula", "Pemula", "keterampilan", "3.75"),
    ("terampil", "Terampil", "keterampilan", "5"),
    ("mahir", "Mahir", "keterampilan", "12.5"),
    ("penyelia", "Penyelia", "keterampilan", "25"),
    ("ahli_pertama", "Ahli Pertama", "keahlian", "12.5"),
    ("ahli_muda", "Ahli Muda", "keahlian", "25"),
    ("ahli_madya", "Ahli Madya", "keahlian", "37.5"),
    ("ahli_utama", "Ahli Utama", "keahlian", "50"),
]


def upgrade():
    table = op.create_table(
        "credit_jenjang",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("coefficient", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_credit_jenjang")),
    )
    op.bulk_insert(
        table,
        [
            {"code": code, "name": name, "category": category, "coefficient": coefficient, "rank": rank}
            for rank, (code, name, category, coefficient) in enumerate(JENJANG)
        ],
    )
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jenjang_code", sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_position_jenjang_code_credit_jenjang"),
            "credit_jenjang",
            ["jenjang_code"],
            ["code"],
        )


def downgrade():
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_position_jenjang_code_credit_jenjang"), type_="foreignkey")
        batch_op.drop_column("jenjang_code")
    op.drop_table("credit_jenjang")
