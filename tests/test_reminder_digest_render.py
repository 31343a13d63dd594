"""Reminder digests assembled from items rendered once are byte for byte the digests that a
rendering of the whole template per person gave (the template as it was before the split)."""

import pytest
import sqlalchemy as sa
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader
from markupsafe import escape

from app.jobs.reminders import EMPLOYEE_SLOT, EVALUATION_SLOT, RaterItems, _html_form, item_renderer
from app.models import OutboxMessage
from app.models.outbox import NAME_TOKEN, personalise
from app.notify import ITEMS_TOKEN, _halves, build_digests, queue

SUBJECT = "Pengingat tenggat penilaian kinerja"

# app/templates/email/reminder_digest.txt before its items moved to reminder_digest_item.txt.
WHOLE_TEMPLATE = (
    "Yth. {{ recipient.name }},\n\nBerikut tugas penilaian kinerja Anda yang masih menunggu:\n"
    "{% for t in tasks %}\n"
    "{% if t.path %}- {{ t.task }}{% if t.employee %} untuk {{ t.employee }}{% endif %}"
    "{% if t.cycle %} ({{ t.cycle }}){% endif %}{% if t.deadline_text %}, tenggat {{ t.deadline_text }}"
    "{% if t.days_left is not none %} ({{ t.days_left }} hari lagi){% endif %}{% endif %}: "
    "{{ base_url }}{{ t.path }}"
    "{% elif t.own %}- {{ t.task }} ({{ t.cycle }}), tenggat {{ t.deadline_text }} "
    "({{ t.days_left }} hari lagi): {{ base_url }}/evaluations/"
    "{% else %}- {{ t.task }} untuk {{ t.employee }} ({{ t.cycle }}), tenggat {{ t.deadline_text }} "
    "({{ t.days_left }} hari lagi): {{ base_url }}/evaluations/{{ t.evaluation_id }}{% endif %}"
    "{% endfor %}\n\nPengingat ini berhenti setelah tugas diselesaikan.\n"
)


def whole(tasks: list[dict]) -> tuple[str, str]:
    """(text, HTML) as `build_message` rendered a digest: the whole template, then base.html."""
    env = current_app.jinja_env

    class Addressee:
        name = NAME_TOKEN

    base_url = current_app.config["BASE_URL"].rstrip("/")
    # Named .txt, as the file was: not escaped (a template from a string would be).
    loader = DictLoader({"email/reminder_digest_whole.txt": WHOLE_TEMPLATE})
    template = env.overlay(loader=loader).get_template("email/reminder_digest_whole.txt")
    text = template.render(recipient=Addressee, base_url=base_url, tasks=tasks)
    html = env.get_template("email/base.html").render(body=text, subject=SUBJECT)
    return text, html


def assembled(tasks: list[dict]) -> tuple[str, str]:
    """(text, HTML) as `send_reminders` makes a digest: items rendered once, rater items filled in."""
    render = item_renderer()
    linkify = current_app.jinja_env.filters["linkify"]
    items, html_of = [], {}
    for task in tasks:
        if task.get("path") is None and not task["own"]:  # a rater's item: one form per duty
            items.append(
                RaterItems(render, linkify, task, html_of).item(task["employee"], task["evaluation_id"])
            )
        else:
            items.append(render(task))
    person = type("Person", (), {"id": 1, "email": "x@example.go.id"})
    (row,) = build_digests(
        "reminder_digest", [person], lambda p: "k", SUBJECT, lambda p: tuple(items), html_of=html_of
    )
    return row["body"]


def duty_task(task: str, days_left: int = 7, cycle: str = "Penilaian Kinerja Tahunan 2027") -> dict:
    return {
        "cycle": cycle,
        "task": task,
        "deadline_text": "31 Jan 2027 15.00 WIB",
        "days_left": days_left,
    }


MIXED = [
    {**duty_task("Menyusun dan mengajukan SKP"), "own": True},
    {**duty_task("Menetapkan SKP"), "own": False, "employee": "Perawat Debora", "evaluation_id": 17},
    {**duty_task("Menilai"), "own": False, "employee": "dr. Ani <Spesialis> & {0}", "evaluation_id": 4},
    {**duty_task("Memutus keberatan", 1), "own": False, "employee": "Budi 'Bud' \"B\"", "evaluation_id": 9},
    {  # monitoring: a follow-up overdue, no days left
        "task": "Tindak lanjut umpan balik",
        "employee": "Citra",
        "cycle": "Penilaian Kinerja Tahunan 2027",
        "deadline_text": "3 Mar 2027 (terlambat 2 hari)",
        "days_left": None,
        "path": "/evaluations/5/dialog#follow-up-3",
    },
    {  # coaching: no deadline
        "task": "Mencatat bimbingan",
        "employee": "Dodi",
        "cycle": "Penilaian Kinerja Tahunan 2027",
        "deadline_text": None,
        "days_left": None,
        "path": "/evaluations/6/dialog#new-record",
    },
    {  # peer input: with a deadline and days left
        "task": "Memberi masukan perilaku kerja",
        "employee": "Eka",
        "cycle": "Penilaian Kinerja Tahunan 2027",
        "deadline_text": "10 Mar 2027 16.00 WIB",
        "days_left": 3,
        "path": "/rekan/12",
    },
    {"task": "Tanpa pegawai", "employee": "", "cycle": "", "deadline_text": "", "days_left": 0, "path": "/x"},
]


def test_a_mixed_digest_is_what_the_whole_template_rendered(app):
    assert assembled(MIXED) == whole(MIXED)
    text, html = assembled(MIXED)
    assert "untuk dr. Ani <Spesialis> & {0} (" in text
    assert "untuk dr. Ani &lt;Spesialis&gt; &amp; {0} (" in html
    assert 'href="http://localhost/evaluations/17"' in html or "/evaluations/17</a>" in html
    # the name is put in when it is sent, escaped in HTML
    assert personalise(text, "Ibu <Kepala>").startswith("Yth. Ibu <Kepala>,")
    assert "Yth. Ibu &lt;Kepala&gt;," in personalise(html, "Ibu <Kepala>", html=True)


def test_a_digest_of_own_steps_only_and_of_one_item(app):
    for tasks in ([MIXED[0]], [MIXED[1]], [MIXED[4]], [MIXED[0], MIXED[0]]):
        assert assembled(tasks) == whole(tasks)


NAMES = st.lists(
    st.sampled_from(list("aZ .,'\"<>&{}()-:/\t\x1f") + ["http://", "https://x.example/", "{0}", "{1}"]),
    max_size=8,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(NAMES, min_size=1, max_size=4),
    ids=st.lists(st.integers(min_value=1, max_value=10**9), min_size=4, max_size=4),
    monitoring=st.lists(
        st.fixed_dictionaries(
            {
                "task": NAMES,
                "employee": NAMES,
                "cycle": NAMES,
                "deadline_text": st.one_of(st.none(), NAMES),
                "days_left": st.one_of(st.none(), st.integers(-5, 30)),
                "path": st.sampled_from(["/rekan/1", "/evaluations/2/dialog#new-record", "/x?a=<b>&c"]),
            }
        ),
        max_size=2,
    ),
    own=st.booleans(),
    cycle=NAMES,
)
def test_any_names_and_items_give_the_whole_template_bytes(app, names, ids, monitoring, own, cycle):
    tasks = [{**duty_task("Menyusun dan mengajukan SKP", cycle=cycle), "own": True}] if own else []
    tasks += [
        {**duty_task("Menetapkan SKP", cycle=cycle), "own": False, "employee": name, "evaluation_id": ids[i]}
        for i, name in enumerate(names)
        if name  # a person has a name
    ]
    tasks += monitoring
    if not tasks:
        return
    assert assembled(tasks) == whole(tasks)


def test_people_with_equal_items_share_one_body(app):
    people = [type("P", (), {"id": i, "email": f"p{i}@example.go.id"}) for i in range(4)]
    items = {0: ("\n- a",), 1: ("\n- b",), 2: ("\n- a",), 3: ("\n- a", "\n- b")}
    rows = build_digests("reminder_digest", people, lambda p: f"k{p.id}", SUBJECT, lambda p: items[p.id])
    assert [row["key"] for row in rows] == ["k0", "k1", "k2", "k3"]
    assert rows[0]["body"] is rows[2]["body"]
    assert len({row["body"] for row in rows}) == 3


def test_the_digest_template_must_show_its_items_once():
    assert _halves(f"a{ITEMS_TOKEN}b") == ("a", "b")
    for rendered in ("a", f"a{ITEMS_TOKEN}b{ITEMS_TOKEN}"):
        with pytest.raises(ValueError):
            _halves(rendered)


def test_queue_skips_a_queued_key_and_may_run_twice_in_one_transaction(app, db, make):
    """The outbox write (COPY on PostgreSQL) stores each distinct body once and skips keys that
    are queued already, also when it runs twice before the commit."""
    people = [make.employee(name=f"Pegawai {i}") for i in range(3)]
    db.session.commit()

    def rows(keys):
        return build_digests(
            "reminder_digest",
            [p for p in people if f"k{p.id}" in keys],
            lambda p: f"k{p.id}",
            SUBJECT,
            lambda p: ("\n- sama",),
        )

    queue(rows({f"k{people[0].id}"}), ignore_duplicates=True)
    queue(rows({f"k{p.id}" for p in people}), ignore_duplicates=True)
    db.session.commit()
    stored = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.recipient_id for m in stored] == [p.id for p in people]
    assert len({m.body_id for m in stored}) == 2  # one body per call, shared within it
    assert all(
        m.body_text.endswith("- sama\n\nPengingat ini berhenti setelah tugas diselesaikan.") for m in stored
    )
    assert [m.to_address for m in stored] == [p.email for p in people]


def test_a_raters_item_is_made_html_once_per_duty_unless_an_address_could_touch_the_name(app):
    render = item_renderer()
    linkify = current_app.jinja_env.filters["linkify"]
    rater = RaterItems(render, linkify, {**duty_task("Menetapkan SKP"), "own": False}, {})
    assert rater.html_form is not None  # the digest's wording allows it
    item = rater.item("Ani <A> & B", 42)
    assert rater.html_of[item] == str(linkify(item))
    rater.item("Ani http://contoh.example/x", 43)  # an address in a name: made HTML on its own
    assert len(rater.html_of) == 1
    # wording where an address could run into the name, or the id shown twice
    assert _html_form(f"- lihat http://x/{EMPLOYEE_SLOT} {EVALUATION_SLOT}", linkify) is None
    assert _html_form(f"- {EMPLOYEE_SLOT}x {EVALUATION_SLOT}", linkify) is None
    assert _html_form(f"- {EMPLOYEE_SLOT} {EVALUATION_SLOT}{EVALUATION_SLOT}", linkify) is None
    assert _html_form(f"- ({EMPLOYEE_SLOT}) {EVALUATION_SLOT}", linkify) is None  # "(" may end an address
    form = _html_form(f'- "{EMPLOYEE_SLOT}" http://x/{EVALUATION_SLOT}', linkify)
    assert form.format(escape("a&b"), 7) == str(linkify('- "a&b" http://x/7'))
