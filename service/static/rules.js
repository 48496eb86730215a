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
