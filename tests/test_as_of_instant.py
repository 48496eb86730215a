"""`as_of=<instant>` never includes an event recorded after the instant.

An event's time is taken before it commits, so the group-commit writer and the
thread pool can give a later position an earlier time. Here that race is made
on purpose: the report stored first carries the later time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from eventsourcing.utils import get_topic

from domain.reports import Report, content_digest
from domain.values import ReportContent
from service.storage import open_application
from tests.conftest import keyed_client

LATE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
EARLY = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)


def _filed(day: str, incident: str, moment: datetime) -> Report.Filed:
    content = ReportContent.model_validate(
        {
            "kind": "attack",
            "when": day,
            "incident_key": incident,
            "source": {"outlet": "AFP", "language": "fr"},
        }
    )
    return Report.Filed(
        originator_topic=get_topic(Report),
        originator_id=Report.create_id(content, incident),
        originator_version=1,
        timestamp=moment,
        content=content,
        key=incident,
        digest=content_digest(content),
        written_by=None,
    )


def test_an_instant_maps_to_the_last_position_whose_whole_prefix_was_recorded(settings):
    app = open_application(settings)
    try:
        # Position 1 was recorded at LATE, position 2 (committed after it) at EARLY.
        for event in (_filed("2024-01-02", "first", LATE), _filed("2024-01-03", "second", EARLY)):
            app.recorder.insert_events([app.mapper.to_stored_event(event)])
    finally:
        app.close()
    with keyed_client(settings) as client:
        head = client.get("/timeline", params={"min_position": 2})
        assert [e["incident"] for e in head.json()["entries"]] == ["first", "second"]

        def at(moment: datetime) -> tuple[int, list[str]]:
            answer = client.get("/timeline", params={"as_of": moment.isoformat()}).json()
            return answer["position"], [e["incident"] for e in answer["entries"]]

        # At EARLY, position 1 had not been recorded yet, so neither had 2 behind it.
        assert at(EARLY) == (0, [])
        assert at(LATE) == (2, ["first", "second"])
