// The page's small rules, as pure functions (no DOM, no fetch), so that the
// browser tests can check each one on its own (tests/test_page_rules.py).

const DAY = 86_400_000;

/** "1 incident", "2 incidents"; `many` when the plural is not just an "s". */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** The `detail` of an API error answer, as one line a person can read. */
export function errorText(body, status) {
  const detail = body?.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((d) => {
        const field = d.field ?? (Array.isArray(d.loc) ? d.loc.filter((p) => p !== "query").join(".") : "");
        return field ? `${field}: ${d.msg}` : d.msg;
      })
      .join("; ");
  }
  return `the service answered ${status}`;
}

/** Names compare as the service compares them (domain/values.py normalise_name):
 * ignoring case, accents, hyphens, apostrophes, dots and spacing. */
export function foldName(text) {
  const stripped = String(text ?? "").normalize("NFKD").replace(/\p{M}/gu, "");
  return stripped.replace(/[-_'’.]/g, " ").toLowerCase().split(/\s+/).filter(Boolean).join(" ");
}
const fold = foldName;

/** The registered actor a filter value means: its id, or any of its names. */
export function resolveActor(actors, value) {
  if (!value) return null;
  const wanted = fold(value);
  for (const actor of actors) if (fold(actor.id) === wanted) return actor;
  for (const actor of actors) {
    const names = [actor.name, ...(actor.aliases || []).map((a) => a.name)];
    if (names.some((name) => fold(name) === wanted)) return actor;
  }
  return null;
}

/** Is an incident on screen, hidden by the filters, or not in the log at the position shown? */
export function incidentPresence(key, shown, inLog) {
  if (shown.has(key)) return "shown";
  if (inLog.has(key)) return "filtered";
  return "absent";
}

/**
 * The long stretches with no incident starting or ending in them, so the time
 * axis can leave them out and spread the rest. `spans` are [start, end] in ms;
 * a gap longer than `minGap` days becomes a hidden stretch, keeping `margin`
 * days of air on each side. Returns [{start, end}] in ms, in order.
 */
export function quietStretches(spans, { minGap = 21, margin = 4 } = {}) {
  const edges = [...new Set(spans.flat().filter(Number.isFinite))].sort((a, b) => a - b);
  const stretches = [];
  for (let i = 1; i < edges.length; i += 1) {
    const start = edges[i - 1] + margin * DAY;
    const end = edges[i] - margin * DAY;
    if (edges[i] - edges[i - 1] > minGap * DAY && end > start) stretches.push({ start, end });
  }
  return stretches;
}

/** The log positions a slider should mark: where a report was filed, corrected or retracted. */
export function reportMarks(events) {
  const marks = [];
  for (const event of events) {
    if (!String(event.type).startsWith("Report.")) continue;
    marks.push({ position: event.position, type: event.type });
  }
  return marks.sort((a, b) => a.position - b.position);
}

/** The slider's low end: the first report (positions before it only set up actors). */
export function sliderStart(marks, head) {
  const first = marks.find((m) => m.type === "Report.Filed");
  return first ? Math.min(first.position, head) : head;
}

/** A time-axis step that gives labels about `labelPx` apart, from the visible (not left out) time per pixel. */
export function axisStep(msPerPixel, labelPx = 70) {
  const wanted = msPerPixel * labelPx;
  const steps = [
    ["day", 1, DAY], ["day", 2, 2 * DAY], ["day", 5, 5 * DAY], ["week", 1, 7 * DAY], ["week", 2, 14 * DAY],
    ["month", 1, 30 * DAY], ["month", 3, 91 * DAY], ["month", 6, 182 * DAY], ["year", 1, 365 * DAY],
  ];
  const found = steps.find(([, , ms]) => ms >= wanted) || steps[steps.length - 1];
  return { scale: found[0], step: found[1] };
}

/**
 * A date's `wording` is the source's words; but a filer may have wrapped them in
 * a remark of their own (`«ce 2 janvier» : date de la confirmation…`). When the
 * wording marks part of itself with quotation marks, only that part is the
 * source's: {words, note}. Otherwise all of it is words.
 */
export function splitWording(wording) {
  const text = String(wording ?? "").trim();
  const marked = [...text.matchAll(/«\s*([^»]+?)\s*»|“([^”]+)”|"([^"]+)"/g)];
  if (!marked.length) return { words: text, note: "" };
  const words = marked.map((m) => (m[1] ?? m[2] ?? m[3]).trim()).join(" … ");
  // The words stand as "…" in the remark; a remark that merely follows them loses it.
  const note = text.replace(/«\s*[^»]+?\s*»|“[^”]+”|"[^"]+"/g, "…")
    .replace(/^[\s…:;,—-]+|[\s…:;,—-]+$/g, "").trim();
  return { words, note };
}

// ---------------------------------------------------------------- the map

/** How a place's coordinates are drawn: a point where they are exact or near, else a
 * disc, wider and lighter the less is known. A locality's disc keeps a size on
 * screen (`pixels`: a town's 15 km would shrink below a point); a region's and a
 * country's are as wide as the uncertainty on the ground (`metres`). `order`: widest first. */
export const PRECISION_MARKS = {
  exact: { shape: "point", pixels: 5, metres: 0, fill: 0.95, order: 4 },
  near: { shape: "point", pixels: 6, metres: 0, fill: 0.9, order: 3 },
  locality: { shape: "disc", pixels: 11, metres: 0, fill: 0.45, order: 2 },
  region: { shape: "disc", pixels: 0, metres: 90_000, fill: 0.25, order: 1 },
  country: { shape: "disc", pixels: 0, metres: 250_000, fill: 0.12, order: 0 },
};
const FINEST = ["exact", "near", "locality", "region", "country"];

/** Does an incident's span (days, inclusive) meet the window [start, end) in ms? No window: yes. */
export function inWindow(entry, window) {
  if (!window) return true;
  const start = Date.parse(`${entry.when.earliest}T00:00:00Z`);
  const end = Date.parse(`${entry.when.latest}T00:00:00Z`) + DAY;
  return start < window.end && end > window.start;
}

/** The places of an incident that have coordinates, finest first. */
export function locatedPlaces(entry) {
  const rank = (p) => {
    const at = FINEST.indexOf(p.coordinate_precision);
    return at < 0 ? FINEST.length : at;
  };
  return (entry.places || [])
    .filter((p) => Number.isFinite(p.latitude) && Number.isFinite(p.longitude))
    .sort((a, b) => rank(a) - rank(b));
}

/**
 * What the map draws for these incidents, within the timeline's time window:
 * one mark per located place, the responds-to links between incidents that both
 * have one (from the cause's finest place to the answer's), and how many
 * incidents in the window have no located place, or lie outside the window.
 */
export function mapContent(entries, window = null) {
  const marks = [];
  const anchors = new Map();
  let unlocated = 0;
  let outside = 0;
  for (const entry of entries) {
    if (!inWindow(entry, window)) {
      outside += 1;
      continue;
    }
    const places = locatedPlaces(entry);
    if (!places.length) {
      unlocated += 1;
      continue;
    }
    anchors.set(entry.incident, places[0]);
    for (const place of places) {
      const precision = PRECISION_MARKS[place.coordinate_precision] ? place.coordinate_precision : "locality";
      marks.push({ incident: entry.incident, level: entry.level, place, precision, ...PRECISION_MARKS[precision] });
    }
  }
  const links = [];
  for (const entry of entries) {
    if (!anchors.has(entry.incident)) continue;
    for (const cause of entry.responds_to || []) {
      if (!anchors.has(cause) || cause === entry.incident) continue;
      links.push({ from: cause, to: entry.incident, deed: entry.level >= 1, start: anchors.get(cause), end: anchors.get(entry.incident) });
    }
  }
  return { marks, links, unlocated, outside, located: anchors.size };
}
