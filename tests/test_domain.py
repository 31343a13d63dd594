"""The predikat table of DOMAIN.md, pair by pair, written out here rather than read from the code."""

import pytest

from app.domain import PREDIKAT_TABLE, Predikat, Rating, predikat

# DOMAIN.md, "Ratings and the predikat": rows are the results rating, columns the behaviour rating.
#   Results \ Behaviour | Di Bawah          | Sesuai          | Di Atas
#   Di Atas             | Kurang/Misconduct | Baik            | Sangat Baik
#   Sesuai              | Kurang/Misconduct | Baik            | Baik
#   Di Bawah            | Sangat Kurang     | Butuh Perbaikan | Butuh Perbaikan
EXPECTED = [
    ("above", "below", "kurang", "Kurang/Misconduct"),
    ("above", "meets", "baik", "Baik"),
    ("above", "above", "sangat_baik", "Sangat Baik"),
    ("meets", "below", "kurang", "Kurang/Misconduct"),
    ("meets", "meets", "baik", "Baik"),
    ("meets", "above", "baik", "Baik"),
    ("below", "below", "sangat_kurang", "Sangat Kurang"),
    ("below", "meets", "butuh_perbaikan", "Butuh Perbaikan"),
    ("below", "above", "butuh_perbaikan", "Butuh Perbaikan"),
]


@pytest.mark.parametrize(("results", "behaviour", "expected", "label"), EXPECTED)
def test_predikat_follows_the_table(app, results, behaviour, expected, label):
    result = predikat(Rating(results), Rating(behaviour))
    assert result == expected
    assert result.label == label


@pytest.mark.parametrize(("results", "behaviour", "expected", "label"), EXPECTED)
def test_predikat_accepts_the_stored_strings(results, behaviour, expected, label):
    assert predikat(results, behaviour) is Predikat(expected)


def test_the_table_has_exactly_the_nine_pairs():
    assert set(PREDIKAT_TABLE) == {(Rating(r), Rating(b)) for r, b, _p, _l in EXPECTED}


def test_the_rating_labels_are_those_of_the_regulation(app):
    assert [r.label for r in (Rating.ABOVE, Rating.MEETS, Rating.BELOW)] == [
        "Di Atas Ekspektasi",
        "Sesuai Ekspektasi",
        "Di Bawah Ekspektasi",
    ]


def test_five_predikat_best_first(app):
    assert [p.label for p in Predikat] == [
        "Sangat Baik",
        "Baik",
        "Butuh Perbaikan",
        "Kurang/Misconduct",
        "Sangat Kurang",
    ]
