"""The monitoring stage between the phases (PermenPANRB 6/2022: pelaksanaan, pemantauan, pembinaan).

- `progress`: the progress log against each indicator (rencana aksi / progres), verified by the
  rater, and the realisation it suggests for the self-assessment;
- `dialog`: dialog kinerja and feedback records with their agreed follow-ups, acknowledged by the
  employee;
- `coaching`: the rater asked to record a bimbingan or konseling when results lag;
- `peers`: input on behaviour from up to five colleagues, requested by the rater during review.

Every write goes through these services: they ask the policy and the phase rules, validate all
input before writing, and record the change and its audit event in one transaction. Nothing is
written once the evaluation's cycle is published. `page_parts` gives the evaluation page what
each part shows, in a number of statements that does not grow with the records.
"""

from app.models import Account, Evaluation


def page_parts(evaluation: Evaluation, actor: Account | None, roles: set[str]) -> dict:
    """What the evaluation page shows of the monitoring stage, per part (None: nothing to show)."""
    from app.workflow import planning
    from app.workflow.monitoring import dialog, peers, progress

    return {
        "progress": progress.page_part(evaluation, actor, roles),
        "dialog": dialog.page_part(evaluation, actor, roles),
        "peers": peers.page_part(evaluation, actor, roles),
        "planning": planning.page_part(evaluation, actor, roles),
    }
