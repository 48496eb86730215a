"""The rules of following the log, on their own: which events a query keeps, what a
follower queues, and the control lines' shape."""

from __future__ import annotations

from uuid import uuid4

import orjson
from eventsourcing.persistence import Notification

from domain.application import EVENT_TYPES
from service.follow import END, OVERFLOW, Control, Follower, LogLine
from service.log_query import LogQuery, unknown_type_problem

MINE = uuid4()


def line(position: int, kind: str = "Report.Filed", of: object = MINE) -> LogLine:
    notification = Notification(
        id=position, originator_id=of, originator_version=1, topic=EVENT_TYPES[kind], state=b"{}"
    )
    return LogLine(notification, transcoder=None)


def queued(follower: Follower) -> list[object]:
    items = []
    while not follower.queue.empty():
        item = follower.queue.get_nowait()
        items.append(item if isinstance(item, str) else item.position)
    return items


def test_a_query_keeps_its_types_and_its_report() -> None:
    corrected = LogQuery(("Report.Corrected",), MINE)
    assert corrected.keeps(line(1, "Report.Corrected").notification)
    assert not corrected.keeps(line(2, "Report.Filed").notification)
    assert not corrected.keeps(line(3, "Report.Corrected", uuid4()).notification)
    assert LogQuery().keeps(line(4, "Actor.Registered", uuid4()).notification)


def test_an_unknown_type_is_named_with_the_known_ones() -> None:
    assert unknown_type_problem(["Report.Filed"]) is None
    problem = unknown_type_problem(["Report.Filed", "Report.Deleted"])
    assert problem is not None and problem["field"] == "type"
    assert problem["msg"].startswith("unknown event type 'Report.Deleted'; one of Report.Filed")


def test_a_follower_queues_only_what_it_keeps_past_what_it_sent() -> None:
    follower = Follower(LogQuery(("Report.Filed",)), buffer=10, floor=5)
    for position in (4, 5, 6):
        follower.offer(line(position))  # 4 and 5 were sent from the store already
    follower.offer(line(7, "Report.Retracted"))
    follower.offer(line(8))
    assert queued(follower) == [6, 8]


def test_a_full_queue_ends_in_overflow_and_nothing_after() -> None:
    follower = Follower(LogQuery(), buffer=2, floor=0)
    for position in (1, 2, 3, 4):
        follower.offer(line(position))
    assert queued(follower) == [OVERFLOW]  # the queued events make room for it
    follower.finish(END)  # a shutdown after the overflow changes nothing
    assert queued(follower) == []


def test_control_lines_say_where_to_resume() -> None:
    assert orjson.loads(Control("heartbeat", 61).ndjson) == {"type": "heartbeat", "after": 61}
    overflow = orjson.loads(Control(OVERFLOW, 57).ndjson)
    assert overflow["type"] == "overflow" and overflow["after"] == 57
    assert "after=57" in overflow["detail"]
    frame = Control(END, 57).sse.decode()
    assert frame.startswith("event: end\r\n") or frame.startswith("event: end\n")
    assert "id:" not in frame  # a resume point, not an event: Last-Event-ID stays put
