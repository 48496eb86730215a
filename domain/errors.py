"""Domain errors: each names the thing that is wrong, so callers can report it."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """Base class for rule violations the caller can fix."""

    def fields(self) -> list[tuple[str, str]]:
        """(field, problem) pairs, when the error is about named request fields."""
        return []


class ReportRetractedError(DomainError):
    def __init__(self, report_id: UUID) -> None:
        super().__init__(f"report {report_id} is retracted and cannot change")


class IdempotencyConflictError(DomainError):
    """The same client key was used before with a different payload."""

    def __init__(self, key: str, report_id: UUID) -> None:
        self.key = key
        self.report_id = report_id
        super().__init__(f"key {key!r} already filed report {report_id} with a different payload")


class ChangeKeyConflictError(DomainError):
    """A correction or retraction key was used on this report for another request."""

    def __init__(self, key: str, report_id: UUID, version: int) -> None:
        self.key = key
        super().__init__(
            f"key {key!r} already made version {version} of report {report_id} "
            "with a different request"
        )


class VersionConflictError(DomainError):
    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"expected version {expected} but the aggregate is at {actual}")


class NameTakenError(DomainError):
    def __init__(self, name: str, actor_id: UUID, field: str | None = None) -> None:
        self.name = name
        self.actor_id = actor_id
        self.field = field
        super().__init__(f"name {name!r} already belongs to actor {actor_id}")

    def fields(self) -> list[tuple[str, str]]:
        return [(self.field, str(self))] if self.field else []


class UnknownActorError(DomainError):
    def __init__(self, actor_id: UUID) -> None:
        super().__init__(f"no actor {actor_id}")


class ParentCycleError(DomainError):
    pass


class UnknownActorMentionError(DomainError):
    """Reports name actors by id only if the id is a registered actor."""

    def __init__(self, mentions: list[tuple[int, int, UUID]]) -> None:
        self.mentions = mentions  # (report index, mention index, actor id)
        super().__init__(
            "; ".join(
                f"report {i}: actors.{j}.actor_id {a} is not a registered actor"
                for i, j, a in mentions
            )
        )


class UnknownReportError(DomainError):
    def __init__(self, report_id: UUID) -> None:
        super().__init__(f"no report {report_id}")


class ActorConflictError(DomainError):
    def __init__(self, actor_id: UUID, conflicts: list[tuple[str, str]]) -> None:
        self.actor_id = actor_id
        self.conflicts = conflicts
        super().__init__(
            f"actor {actor_id} is already registered under this name with other details: "
            + "; ".join(f"{field}: {problem}" for field, problem in conflicts)
        )

    def fields(self) -> list[tuple[str, str]]:
        return self.conflicts


class UnknownKeyError(DomainError):
    pass


class RevokedKeyError(DomainError):
    def __init__(self, key_id: UUID) -> None:
        self.key_id = key_id
        super().__init__(f"API key {key_id} has been revoked")


class ContentionError(DomainError):
    def __init__(self, aggregate_id: UUID, what: str = "report") -> None:
        super().__init__(
            f"{what} {aggregate_id} kept changing under concurrent writes; "
            "nothing was written, retry"
        )


class DecisionKeyConflictError(DomainError):
    """A decision key was used before for another decision."""

    def __init__(self, key: str, decision_id: UUID) -> None:
        self.key = key
        super().__init__(
            f"key {key!r} already made decision {decision_id} with a different request"
        )
