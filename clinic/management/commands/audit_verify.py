from django.core.management.base import BaseCommand, CommandError

from clinic.audit import anchor_path, check_chain, read_anchors


class Command(BaseCommand):
    help = (
        "Verify the audit log's keyed hash chain and compare it with the latest anchor; fails "
        "on the first altered or missing entry, on entries removed from the end after an "
        "anchor, and on anchors that do not verify."
    )

    def handle(self, *args, **options):
        path = anchor_path()
        anchors = read_anchors(path)
        if anchors.bad_lines:
            lines = ", ".join(str(number) for number in anchors.bad_lines[:10])
            raise CommandError(
                f"The audit anchors in {path} do not verify (lines {lines}): altered, or keyed "
                "with a key that AUDIT_KEYS no longer holds."
            )
        result = check_chain(anchor=anchors.latest)
        if not result.intact:
            where = (
                f" at entry {result.broken_id} (after {result.checked} intact entries)"
                if result.broken_id is not None
                else ""
            )
            raise CommandError(f"The audit chain is broken{where}: {result.problem}")
        if anchors.latest is None:
            against = f"no anchor yet in {path}, so removals from the end cannot be detected"
        else:
            against = (
                f"matches the anchor of {anchors.latest.at} "
                f"(entry {anchors.latest.entry_id}, {anchors.latest.count} entries)"
            )
        self.stdout.write(
            self.style.SUCCESS(f"The audit chain is intact: {result.checked} entries; {against}.")
        )
