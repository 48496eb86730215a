"""A realistic synthetic log, the same for a given seed.

Many incidents, each reported by several sources (wire agencies, officials,
anonymous officials, armed groups); actors drawn from a Zipf-like distribution
over canonical names, aliases and unregistered spellings; dates as EDTF strings
or explicit bounds, some approximate, a few that disagree with the other
sources; responses to earlier incidents; and corrections and retractions mixed
in between the batches of filings.

Nothing here touches a store: `reports()` yields JSON-ready report bodies (the
same ones the HTTP API takes), `actors()` the actors to register first, and
`changes()` which earlier reports to correct or retract after each batch.
`load()` files all of it through `TimelineApplication`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

SEED = 20240202
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

START = date(2023, 10, 7)
DAYS = 146  # to the end of February 2024: "depuis la mi-octobre"

PLACES = [
    ("Al-Qaïm", "IQ"),
    ("Bagdad", "IQ"),
    ("Erbil", "IQ"),
    ("Aïn al-Asad", "IQ"),
    ("Jurf al-Sakhar", "IQ"),
    ("Kirkouk", "IQ"),
    ("Mossoul", "IQ"),
    ("Bassora", "IQ"),
    ("Deir ez-Zor", "SY"),
    ("Al-Boukamal", "SY"),
    ("Damas", "SY"),
    ("Al-Tanf", "SY"),
    ("Hassaké", "SY"),
    ("Conoco", "SY"),
    ("Tower 22", "JO"),
    ("Rukban", "JO"),
    ("Sanaa", "YE"),
    ("Hodeida", "YE"),
    ("mer Rouge", None),
    ("golfe d'Aden", None),
    ("Beyrouth", "LB"),
    ("Naqoura", "LB"),
    ("Tyr", "LB"),
    ("Eilat", "IL"),
    ("Haïfa", "IL"),
    ("Gaza", "PS"),
    ("Rafah", "PS"),
    ("Khan Younès", "PS"),
    ("Ispahan", "IR"),
    ("Téhéran", "IR"),
    ("Kerman", "IR"),
    ("Amman", "JO"),
    ("Koweït", "KW"),
    ("Manama", "BH"),
    ("Djibouti", "DJ"),
]

OUTLETS = [
    ("AFP", "fr"),
    ("Reuters", "en"),
    ("AP", "en"),
    ("Al Jazeera", "ar"),
    ("Al Arabiya", "ar"),
    ("BBC", "en"),
    ("Le Monde", "fr"),
    ("The New York Times", "en"),
    ("Centcom", "en"),
    ("IRNA", "fa"),
    ("SANA", "ar"),
    ("Shafaq News", "ar"),
    ("Rudaw", "ku"),
    ("L'Orient-Le Jour", "fr"),
    ("The Washington Post", "en"),
    ("Times of Israel", "en"),
    ("Al-Manar", "ar"),
    ("Tasnim", "fa"),
    ("France 24", "fr"),
    ("Bloomberg", "en"),
    ("Anadolu", "tr"),
    ("Xinhua", "zh"),
    ("Kurdistan 24", "ku"),
    ("Al-Sumaria", "ar"),
]

SPEAKERS = [
    "un responsable américain de la Défense",
    "un porte-parole du Pentagone",
    "un responsable au ministère de l'Intérieur irakien",
    "une source sécuritaire irakienne",
    "un commandant des factions",
    "le porte-parole de la diplomatie iranienne",
    "un responsable militaire israélien",
    "un porte-parole des Houthis",
    "l'Observatoire syrien des droits de l'homme",
    "un diplomate occidental",
    "le Président américain Joe Biden",
    "le porte-parole du Conseil de sécurité nationale",
]

CHANNELS = ["communiqué", "conférence de presse", "réseaux sociaux", "déclaration à l'AFP", None]

# Synthetic armed groups, institutions and people beyond the seed's actors.
GROUP_STEMS = [
    "Kataëb",
    "Harakat",
    "Liwa",
    "Saraya",
    "Asaïb",
    "Jaych",
    "Brigade",
    "Front",
    "Mouvement",
    "Comité",
]
GROUP_NAMES = [
    "Hezbollah",
    "al-Nujaba",
    "Sayyid al-Chouhada",
    "Ahl al-Haq",
    "al-Imam Ali",
    "Awliya al-Dam",
    "al-Khorasani",
    "Thar Allah",
    "al-Fath",
    "Ansar Allah",
    "Badr",
    "Rabaa",
    "Qassem",
    "al-Abbas",
    "Tabarak",
    "Zulfiqar",
]
CATEGORIES = ["armed_group", "state_backed", "state_backed", "institution", "person", "other"]

KIND_PLANS = [
    # (incident kind, weight, kinds its sources use)
    ("attack", 30, ["attack", "attack", "attack", "claim_of_responsibility", "denial"]),
    ("strike", 22, ["strike", "strike", "strike", "statement", "casualties"]),
    ("casualties", 8, ["casualties", "casualties", "attack"]),
    ("statement", 18, ["statement", "statement", "threat"]),
    ("threat", 6, ["threat", "statement"]),
    ("denial", 6, ["denial", "statement"]),
    ("tally", 5, ["tally"]),
    ("claim_of_responsibility", 5, ["claim_of_responsibility", "attack"]),
]

US_TARGET_NAMES = [
    "soldats américains",
    "US forces",
    "militaires américains",
    "troupes américaines",
]


def zipf_weights(n: int, exponent: float = 1.1) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


@dataclass
class SyntheticLog:
    seed: int = SEED
    key_prefix: str = "bench"
    synthetic_actors: int = 150
    correction_rate: float = 0.03  # corrections per filed report
    retraction_rate: float = 0.01
    rng: random.Random = field(init=False)
    _filed: int = field(default=0, init=False)
    _incidents: int = field(default=0, init=False)
    _recent: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._actor_defs = self._make_actors()
        # Names as sources write them, most used first (Zipf): canonical names,
        # aliases, and spellings that no registered actor claims.
        names: list[str] = []
        for actor in self._actor_defs:
            names.append(actor["name"])
            names.extend(alias["name"] for alias in actor.get("aliases", ()))
        names.extend(f"groupe armé non identifié {i}" for i in range(60))
        names.extend(f"milice locale de {place}" for place, _ in PLACES)
        random.Random(self.seed + 1).shuffle(names)
        self._names = names
        self._name_weights = zipf_weights(len(names))
        self._outlet_weights = zipf_weights(len(OUTLETS), 0.9)
        self._plans = [p for p in KIND_PLANS]
        self._plan_weights = [p[1] for p in KIND_PLANS]

    # Actors --------------------------------------------------------------------------

    def _make_actors(self) -> list[dict[str, Any]]:
        rng = random.Random(self.seed + 2)
        actors = [orjson.loads(line) for line in _lines(EXAMPLES / "actors.ndjson")]
        parents = [a["name"] for a in actors if a.get("category") in ("state", "state_force")]
        for i in range(self.synthetic_actors):
            stem = GROUP_STEMS[i % len(GROUP_STEMS)]
            name = f"{stem} {GROUP_NAMES[(i // len(GROUP_STEMS)) % len(GROUP_NAMES)]} {i}"
            actor: dict[str, Any] = {
                "name": name,
                "category": rng.choice(CATEGORIES),
                "description": f"Acteur synthétique n° {i} pour le banc d'essai.",
                "aliases": [
                    {"name": f"{name} (translittération {j})", "language": rng.choice(["en", "ar"])}
                    for j in range(rng.randint(0, 3))
                ],
            }
            if rng.random() < 0.2:
                actor["parent"] = rng.choice(parents)
            actors.append(actor)
        return actors

    def actors(self) -> list[dict[str, Any]]:
        """Actors to register before filing, parents before children (ActorIn + `parent`)."""
        return [dict(a) for a in self._actor_defs]

    # Reports -------------------------------------------------------------------------

    def reports(self) -> Iterator[dict[str, Any]]:
        """Report bodies forever: one incident's sources after another."""
        while True:
            yield from self._incident()

    def batch(self, size: int) -> list[dict[str, Any]]:
        stream = self.reports()
        return [next(stream) for _ in range(size)]

    def _incident(self) -> list[dict[str, Any]]:
        rng = self.rng
        self._incidents += 1
        number = self._incidents
        _, _, source_kinds = rng.choices(self._plans, self._plan_weights)[0]
        day = START + timedelta(days=rng.randrange(DAYS))
        place = rng.choice(PLACES)
        keyed = rng.random() < 0.9
        incident_key = f"{self.key_prefix}-inc-{number:07d}" if keyed else None
        responds_to = None
        if keyed and self._recent and rng.random() < 0.15:
            responds_to = rng.choice(self._recent[-50:])
        if incident_key:
            self._recent.append(incident_key)
            del self._recent[:-200]
        perpetrator = self._name()
        target = rng.choice(US_TARGET_NAMES) if rng.random() < 0.3 else self._name()
        sources = 1 + min(int(rng.expovariate(1 / 2.2)), 11) if keyed else 1
        reports = []
        for _ in range(sources):
            report_kind = rng.choice(source_kinds)
            reports.append(
                self._report(
                    report_kind, day, place, perpetrator, target, incident_key, responds_to
                )
            )
        return reports

    def _name(self) -> str:
        return self.rng.choices(self._names, self._name_weights)[0]

    def _when(self, day: date) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:  # a source that disagrees beyond its precision
            day = day + timedelta(days=rng.choice([-1, 1]) * rng.randint(10, 40))
        form = rng.random()
        if form < 0.35:
            when: Any = {"edtf": day.isoformat()}
        elif form < 0.5:
            when = {"edtf": f"{day.isoformat()}/{(day + timedelta(days=1)).isoformat()}"}
            if rng.random() < 0.5:
                when["wording"] = "dans la nuit"
        elif form < 0.55:
            when = {"edtf": f"{day.isoformat()}~"}
        elif form < 0.6:
            when = {"edtf": day.strftime("%Y-%m")}
        elif form < 0.65:
            when = day.isoformat()  # a bare EDTF string for the whole object
        else:  # structured clients send the bounds themselves
            when = {"earliest": day.isoformat(), "latest": day.isoformat()}
            if rng.random() < 0.1:
                when["approximate"] = True
        return when

    def _report(
        self,
        kind: str,
        day: date,
        place: tuple[str, str | None],
        perpetrator: str,
        target: str,
        incident_key: str | None,
        responds_to: str | None,
    ) -> dict[str, Any]:
        rng = self.rng
        self._filed += 1
        outlet, language = rng.choices(OUTLETS, self._outlet_weights)[0]
        actors: list[dict[str, Any]] = []
        counts: list[dict[str, Any]] = []
        if kind in ("attack", "strike"):
            actors = [
                {"name": perpetrator, "role": "perpetrator"},
                {"name": target, "role": "target"},
            ]
            if rng.random() < 0.3:
                value = rng.randint(1, 90)
                at_least = rng.random() < 0.4
                counts.append(
                    {
                        "value": value,
                        "qualifier": "at_least" if at_least else "exact",
                        "counted": rng.choice(["sites", "targets", "strikes"]),
                        "wording": f"plus de {value} cibles" if at_least else f"{value} cibles",
                    }
                )
        elif kind == "casualties":
            actors = [{"name": target, "role": "affected"}]
            counts = [
                {"value": rng.randint(0, 40), "qualifier": "exact", "counted": "killed"},
                {"value": rng.randint(0, 60), "qualifier": "about", "counted": "wounded"},
            ]
        elif kind == "claim_of_responsibility":
            actors = [{"name": perpetrator, "role": "claimant"}, {"name": target, "role": "target"}]
        elif kind == "denial":
            actors = [{"name": self._name(), "role": "denier"}]
        elif kind == "tally":
            actors = [{"name": rng.choice(US_TARGET_NAMES), "role": "target"}]
            value = 100 + self._filed % 150
            counts = [
                {
                    "value": value,
                    "qualifier": "at_least",
                    "counted": "attacks",
                    "wording": f"plus de {value} attaques depuis la mi-octobre",
                }
            ]
        else:  # statement, threat
            actors = [{"name": self._name(), "role": "speaker"}]
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            actors.append({"name": self._name(), "role": rng.choice(["affected", "speaker"])})
        places = [{"name": place[0], "country": place[1]} if place[1] else {"name": place[0]}]
        if rng.random() < 0.2:
            other = rng.choice(PLACES)
            places.append(
                {"name": other[0], "country": other[1]} if other[1] else {"name": other[0]}
            )
        source: dict[str, Any] = {"outlet": outlet, "language": language}
        if rng.random() < 0.6:
            source["speaker"] = rng.choice(SPEAKERS)
            source["anonymous"] = rng.random() < 0.25
            source["quote"] = f"« {kind} confirmé près de {place[0]}, bilan en cours »"
        channel = rng.choice(CHANNELS)
        if channel:
            source["channel"] = channel
        published = day + timedelta(days=rng.randint(0, 2))
        if rng.random() < 0.7:
            source["published_at"] = published.isoformat()
        else:
            hour, minute = rng.randint(0, 23), rng.randint(0, 59)
            source["published_at"] = f"{published.isoformat()}T{hour:02d}:{minute:02d}:00+00:00"
        if rng.random() < 0.3:
            source["url"] = f"https://example.org/{outlet.lower().replace(' ', '-')}/{self._filed}"
        body: dict[str, Any] = {
            "key": f"{self.key_prefix}-{self._filed:08d}",
            "kind": kind,
            "when": self._when(day),
            "summary": f"{outlet}: {kind} près de {place[0]} impliquant {perpetrator} et {target}.",
            "excerpt": (
                f"Selon {outlet}, un événement de type {kind} a eu lieu près de {place[0]} "
                f"le {day.isoformat()}, visant {target}; {perpetrator} est mis en cause."
            ),
            "places": places,
            "actors": actors,
            "source": source,
        }
        if counts:
            body["counts"] = counts
        if incident_key:
            body["incident_key"] = incident_key
        if responds_to and responds_to != incident_key:
            body["responds_to"] = responds_to
        return body

    # Corrections and retractions ---------------------------------------------------------

    def changes(
        self, batch: int, filed: list[Any], retracted: set[Any]
    ) -> list[tuple[str, Any, dict[str, Any]]]:
        """After a batch of `batch` filings: ("correct" | "retract", report id, arguments),
        each about a report drawn from `filed` (earlier ones included)."""
        rng = self.rng
        wanted: list[tuple[str, Any, dict[str, Any]]] = []
        if not filed:
            return wanted
        corrections = _poisson(rng, self.correction_rate * batch)
        retractions = _poisson(rng, self.retraction_rate * batch)
        chosen: set[Any] = set()
        for _ in range(corrections):
            report_id = rng.choice(filed)
            if report_id in retracted or report_id in chosen:
                continue
            chosen.add(report_id)
            day = START + timedelta(days=rng.randrange(DAYS))
            field_name = rng.choice(["when", "summary", "counts"])
            if field_name == "when":
                change: dict[str, Any] = {"when": {"edtf": day.isoformat()}}
            elif field_name == "summary":
                change = {"summary": "Résumé corrigé après vérification auprès de la source."}
            else:
                change = {
                    "counts": [
                        {"value": rng.randint(1, 50), "qualifier": "exact", "counted": "killed"}
                    ]
                }
            wanted.append(
                (
                    "correct",
                    report_id,
                    {
                        "changes": change,
                        "reason": "erreur de date ou de bilan signalée par le desk",
                        "corrected_by": rng.choice(["AFP desk", "Reuters desk", "AP desk"]),
                    },
                )
            )
        for _ in range(retractions):
            report_id = rng.choice(filed)
            if report_id in retracted or report_id in chosen:
                continue
            chosen.add(report_id)
            wanted.append(
                (
                    "retract",
                    report_id,
                    {"reason": "la source a démenti", "retracted_by": "desk"},
                )
            )
        return wanted


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the small means used here; split large ones.
    total = 0
    while mean > 30:
        total += round(rng.gauss(30, 30**0.5))
        mean -= 30
    threshold, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return max(0, total + k)
        k += 1


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line.strip()]


# Filing through the application --------------------------------------------------------


def register_actors(app: Any, log: SyntheticLog) -> int:
    """Register the log's actors (parents first); returns the log position after."""
    from service.schemas import ActorIn

    for raw in log.actors():
        raw = dict(raw)
        parent = raw.pop("parent", None)
        if parent:
            raw["parent_id"] = app.resolve_actor(parent)
        actor = ActorIn.model_validate(raw)
        app.register_actor(
            actor.name, actor.aliases, actor.parent_id, actor.description, actor.category
        )
    return app.max_position()


def load(app: Any, log: SyntheticLog, events: int, batch: int = 1_000) -> dict[str, int]:
    """File reports in batches, with corrections and retractions, until the log
    holds at least `events` events. Returns what was written, by kind."""
    from service.schemas import ReportIn

    position = register_actors(app, log)
    stream = log.reports()
    filed: list[Any] = []
    retracted: set[Any] = set()
    counts = {"actor_events": position, "reports": 0, "corrections": 0, "retractions": 0}
    while position < events:
        size = max(1, min(batch, events - position))
        bodies = [next(stream) for _ in range(size)]
        items = []
        for body in bodies:
            report = ReportIn.model_validate(body)
            items.append((report.content(), report.key))
        filings = app.file_reports(items)
        counts["reports"] += len(filings)
        filed.extend(f.report_id for f in filings)
        position = max(position, *(f.position or 0 for f in filings))
        room = events - position
        if room <= 0:
            break
        todo = log.changes(len(filings), filed[-50_000:], retracted)[:room]
        changed = []
        for action, report_id, args in todo:
            report = app.get_report(report_id)
            if action == "correct":
                from domain.values import ReportContent

                content = report.content.model_dump(mode="json")
                content.update(args["changes"])
                valid = ReportContent.model_validate(content)
                report.correct(
                    {name: getattr(valid, name) for name in args["changes"]},
                    args["reason"],
                    args["corrected_by"],
                )
                counts["corrections"] += 1
            else:
                report.retract(args["reason"], args["retracted_by"])
                retracted.add(report_id)
                counts["retractions"] += 1
            changed.append(report)
        if changed:
            app.save(*changed)  # one transaction, like a batch of edits from a desk
        position = app.max_position()
    counts["events"] = app.max_position()
    return counts


def ndjson_batches(log: SyntheticLog, batches: int, size: int) -> list[bytes]:
    """`batches` NDJSON bodies of `size` reports each, for the HTTP ingest scenario."""
    stream = log.reports()
    return [b"\n".join(orjson.dumps(next(stream)) for _ in range(size)) for _ in range(batches)]
