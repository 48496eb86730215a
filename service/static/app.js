// The timeline page: one ES module, no build step. It reads the service's public
// views (every answer says the log `position` it reflects and takes `as_of`), keeps
// its whole state in the URL, and follows the log live through SSE.
// Libraries (vendored, see vendor/VERSIONS.md): vis-timeline (global `vis`),
// Chart.js with chartjs-plugin-annotation (global `Chart`), timeline-arrows,
// Leaflet and topojson-client (the map, map.js).
import Arrow from "./vendor/timeline-arrows/arrow.js";
import { IncidentMap } from "./map.js";
import { wireSearch } from "./search.js";
import {
  axisStep, errorText, incidentPresence, plural, quietStretches, reportMarks, resolveActor, sliderStart, splitWording,
} from "./rules.js";
import {
  MEANS, boundsText, countFigure, linkPlan, meansLabel, reportedSteps, seriesName, sourceFigure,
} from "./review.js";

const LEVELS = [
  "rhetoric",
  "attack",
  "attack with casualties",
  "strikes on a state-backed force",
  "strikes on a state",
];
const KINDS = {
  attack: "Attack",
  strike: "Strike",
  casualties: "Casualties",
  statement: "Statement",
  threat: "Threat",
  denial: "Denial",
  claim_of_responsibility: "Claim",
  tally: "Tally",
};
const QUALIFIERS = { exact: "", at_least: "at least ", at_most: "at most ", about: "about ", disputed: "disputed, from " };
const CATEGORIES = {
  state: "state",
  state_force: "state force",
  state_backed: "state-backed force",
  armed_group: "armed group",
  institution: "institution",
  person: "person",
  other: "other",
};
const PARAMS = ["country", "actor", "kind", "level", "means", "as_of", "reported_by", "incident", "who", "rollup"];
const DAY = 86_400_000;
const NO_FILTERS = { country: "", actor: "", kind: "", level: "", means: "" };
const NOTE_LABEL = "Filer's note, not the source's words";
const REPORTED_COLOUR = "#6b1f4f";
const WEEK_COLOUR = "#c9372c";
const MAX_MARKS = 5000; // report events read for the slider per request

const app = {
  head: 0, // the newest log position this page knows of
  liveFrom: null, // the SSE stream's last id
  shown: null, // the log position the views on screen reflect
  actors: new Map(), // id -> actor
  countries: new Map(), // ISO code -> set of names as the sources wrote them
  reportLang: new Map(), // report id -> the language its source wrote in
  seq: 0,
  timeline: null,
  items: null,
  arrows: null,
  arrowIds: new Set(),
  fitKey: null,
  entries: [], // the incidents on screen (filtered)
  allEntries: [], // every incident in the log at the position shown
  chart: null,
  known: null, // incidents and their report counts at the last live render
  fresh: new Set(),
  connection: "connecting",
  refreshTimer: null,
  hiddenKey: null, // the quiet stretches left out of the time axis, as drawn
  cutIds: [], // the axis marks for them
  stretches: [],
  axisKey: null,
  marks: [], // {position, type} of every report event, for the slider
  marksScanned: 0, // the log has been read for marks up to here
  marksLoading: false,
  sliderTimer: null,
};

// ---------------------------------------------------------------- helpers

const $ = (selector, root = document) => root.querySelector(selector);

/** An element, built safely: text is always text, never HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace an element's children; nested arrays and empty values are fine. */
function fill(el, ...children) {
  el.replaceChildren(
    ...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false && c !== ""),
  );
}

const escapeHtml = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const utc = (day) => new Date(`${day}T00:00:00Z`);
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function fmtDay(day, withYear = true) {
  if (!day) return "?";
  const d = utc(day);
  const text = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return withYear ? `${text} ${d.getUTCFullYear()}` : text;
}

function fmtRange(earliest, latest) {
  if (!earliest) return "date unknown";
  if (!latest || earliest === latest) return fmtDay(earliest);
  const a = utc(earliest);
  const b = utc(latest);
  if (a.getUTCFullYear() === b.getUTCFullYear() && a.getUTCMonth() === b.getUTCMonth()) {
    return `${a.getUTCDate()}–${fmtDay(latest)}`;
  }
  if (a.getUTCFullYear() === b.getUTCFullYear()) return `${fmtDay(earliest, false)} – ${fmtDay(latest)}`;
  return `${fmtDay(earliest)} – ${fmtDay(latest)}`;
}

function mondayOf(day) {
  const d = utc(day);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(d.getTime() - back * DAY).toISOString().slice(0, 10);
}

const regionEn = safeDisplayNames("en");
const regionFr = safeDisplayNames("fr");
function safeDisplayNames(locale) {
  try {
    return new Intl.DisplayNames([locale], { type: "region" });
  } catch {
    return null;
  }
}
function countryName(code) {
  // Intl throws on anything that is not a region code ("IRAQ" from ?country=Iraq).
  if (!/^[A-Z]{2}$/.test(code)) return code;
  const en = regionEn?.of(code);
  const fr = regionFr?.of(code);
  if (!en || en === code) return code;
  return fr && fr !== en ? `${en} / ${fr}` : en;
}

// ---------------------------------------------------------------- URL state

function state() {
  const query = new URLSearchParams(location.search);
  return Object.fromEntries(PARAMS.map((key) => [key, query.get(key) || ""]));
}

function href(changes) {
  const query = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === "" || value === null || value === undefined) query.delete(key);
    else query.set(key, value);
  }
  const text = query.toString();
  return text ? `/?${text}` : "/";
}

function go(changes, { replace = false, focus = null } = {}) {
  const url = href(changes);
  history[replace ? "replaceState" : "pushState"](null, "", url);
  return render({ focus });
}

function navLink(changes, text, attrs = {}) {
  return h("a", { href: href(changes), "data-nav": "1", ...attrs }, text);
}

const actorLink = (id, text, attrs = {}) =>
  navLink({ who: id, incident: "" }, text, { class: "actor-link", ...attrs });
const incidentLink = (key, text, attrs = {}) =>
  navLink({ incident: key, who: "" }, text, { class: "incident-link", ...attrs });

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  const url = new URL(link.href);
  history.pushState(null, "", url.pathname + url.search);
  const focus = url.searchParams.get("who") ? "actor" : url.searchParams.get("incident") ? "incident" : null;
  render({ focus });
});
window.addEventListener("popstate", () => render());

// ---------------------------------------------------------------- reading the API

/** A JSON answer; a 404 is `null` only where "not there" is an answer (an incident, an actor). */
async function getJSON(path, params = {}, { missing = false } = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) query.set(key, value);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  const answer = await fetch(url, { headers: { accept: "application/json" } });
  if (answer.status === 404 && missing) return null;
  if (answer.status >= 400 && answer.status < 500) {
    // The request itself is wrong (a filter, `as_of`): asking again cannot help.
    const body = await answer.json().catch(() => null);
    throw new RequestRefused(errorText(body, answer.status), answer.status);
  }
  if (!answer.ok) throw new Error(`${url} answered ${answer.status}`);
  return answer.json();
}

class RequestRefused extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Every timeline entry with its sources (following `next` pages): the page draws them all. */
async function timelineAll(params) {
  const first = await getJSON("/timeline", { ...params, limit: 1000, detail: "full" });
  let page = first;
  let pages = 0;
  while (page.next && pages < 20) {
    page = await getJSON("/timeline", { ...params, limit: 1000, detail: "full", cursor: page.next });
    first.entries.push(...page.entries);
    pages += 1;
  }
  return first;
}

/** An actor's history with every appearance (following `next` pages): the page lists them all. */
async function historyAll(path, params) {
  const first = await getJSON(path, { ...params, limit: 1000 }, { missing: true });
  let page = first;
  let pages = 0;
  while (page?.next && pages < 50) {
    page = await getJSON(path, { ...params, limit: 1000, cursor: page.next }, { missing: true });
    if (!page) break;
    first.appearances.push(...page.appearances);
    pages += 1;
  }
  return first;
}

// ---------------------------------------------------------------- languages
// Quotes and names keep the language their source wrote them in (`lang`), so
// screen readers pronounce "Téhéran" and "soldats américains" as French.

function learnLanguages(entries) {
  for (const entry of entries || []) {
    for (const s of entry.sources) if (s.language) app.reportLang.set(s.report, s.language);
  }
}

const langOfReport = (id) => app.reportLang.get(id) || null;

function langOfEntry(entry) {
  const languages = new Set(entry.sources.map((s) => s.language).filter(Boolean));
  return languages.size === 1 ? [...languages][0] : null;
}

// ---------------------------------------------------------------- labels

/** The fullest name a source wrote for this actor that still fits in a label. */
function shortestName(actor) {
  const names = [...(actor.written_as?.length ? actor.written_as : [actor.name])];
  names.sort((a, b) => a.length - b.length);
  const fitting = names.filter((n) => n.length <= 24);
  return fitting.length ? fitting[fitting.length - 1] : names[0];
}

function namesIn(entry, role, max = 2) {
  const names = entry.actors.filter((a) => a.roles.includes(role)).map(shortestName);
  names.sort((a, b) => a.length - b.length);
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} +${names.length - max}` : shown;
}

function countText(count) {
  return countFigure(count);
}

/** A short line for an incident: what, who, where, in the sources' own words. */
function describe(entry) {
  if (!entry.kind && entry.retracted.length) {
    const r = entry.retracted[0];
    return { kind: "Retracted", who: [r.outlet, r.speaker].filter(Boolean).join(", "), where: "" };
  }
  const kind = KINDS[entry.kind] || entry.kind || "Incident";
  let who = "";
  if (["attack", "strike", "casualties"].includes(entry.kind)) {
    const by = namesIn(entry, "perpetrator");
    const on = namesIn(entry, "target") || namesIn(entry, "affected");
    who = by && on ? `${by} → ${on}` : by || (on ? `on ${on}` : "");
  } else if (entry.kind === "claim_of_responsibility") who = namesIn(entry, "claimant");
  else if (entry.kind === "denial") who = namesIn(entry, "denier");
  else if (entry.kind === "tally") who = entry.counts.map(countText).join(", ");
  else who = namesIn(entry, "speaker") || namesIn(entry, "perpetrator");
  const places = entry.places.slice(0, 2).map((p) => p.name);
  const where = places.join(", ") + (entry.places.length > 2 ? "…" : "");
  return { kind, who, where };
}

function labelText(entry) {
  const { kind, who, where } = describe(entry);
  return [kind, who, where].filter(Boolean).join(" · ");
}

function levelText(entry) {
  if (entry.status === "retracted" || entry.level === null) return "retracted";
  return `level ${entry.level}, ${LEVELS[entry.level]}`;
}

// ---------------------------------------------------------------- the vis timeline
// One row per incident, in time order (the row's label says what it is, in the
// sources' words); in the row, a bar spanning the dates every source allows, and,
// where sources disagree, the hatched envelope of all their dates behind it.

function rowNode(group) {
  const entry = group.entry;
  if (!entry) return "";
  const { kind, who, where } = describe(entry);
  return h(
    "a",
    {
      class: "row-label",
      href: href({ incident: entry.incident, who: "" }),
      "data-nav": "1",
      title: `${labelText(entry)} — ${fmtRange(entry.when.earliest, entry.when.latest)}, ${levelText(entry)}`,
      tabindex: "-1", // the list below is the keyboard path; ← → on the timeline too
    },
    h("span", { class: `lvl-tag ${entry.level === null ? "lvl-r" : `lvl-${entry.level}`}` }, entry.level === null ? "R" : `L${entry.level}`),
    h("b", {}, kind),
    who ? h("span", { class: "who" }, who) : null,
    where ? h("span", { class: "where" }, where) : null,
    entry.contradictions.length ? h("span", { class: "warn", title: "contradiction flagged" }, "⚠") : null,
  );
}

function itemNode(item) {
  const entry = item.entry;
  if (item.envelope) {
    return h("span", { class: "envelope-label", dataset: { incident: entry.incident } }, "sources range over ", fmtRange(
      entry.when.envelope.earliest, entry.when.envelope.latest));
  }
  // Long bars carry the sources' own wording of the date ("fin janvier").
  const days = (utc(entry.when.latest) - utc(entry.when.earliest)) / DAY;
  const wording = days > 6 ? splitWording(entry.sources.map((s) => s.when?.wording).find(Boolean)).words : "";
  return h("span", { class: "bar-label", lang: langOfEntry(entry), dataset: { incident: entry.incident } }, wording || "");
}

function tooltip(entry) {
  const lines = [
    `<b>${escapeHtml(labelText(entry))}</b>`,
    escapeHtml(`${fmtRange(entry.when.earliest, entry.when.latest)} · ${levelText(entry)}`),
    escapeHtml(plural(entry.sources.length, "report")),
  ];
  // The summary is the filer's note (the seed's, for the demo), never the source's words.
  const summary = entry.sources[0]?.summary;
  if (summary) lines.push(`<i>${NOTE_LABEL}:</i> ${escapeHtml(summary.length > 220 ? `${summary.slice(0, 220)}…` : summary)}`);
  return lines.join("<br>");
}

function itemClasses(entry) {
  const classes = [entry.level === null ? "lvl-r" : `lvl-${entry.level}`];
  const days = (utc(entry.when.latest) - utc(entry.when.earliest)) / DAY;
  if (days > 4) classes.push("wide");
  const fuzzy = entry.sources.some(
    (s) => s.when?.approximate || s.when?.uncertain || (s.when?.precision && s.when.precision !== "day"),
  );
  if (fuzzy) classes.push("fuzzy");
  if (entry.contradictions.length) classes.push("disputed");
  if (entry.status === "retracted") classes.push("retracted");
  if (app.fresh.has(entry.incident)) classes.push("fresh");
  return classes.join(" ");
}

function ensureTimeline() {
  if (app.timeline) return;
  app.items = new vis.DataSet();
  app.groups = new vis.DataSet();
  app.timeline = new vis.Timeline($("#timeline"), app.items, app.groups, {
    orientation: { axis: "top", item: "top" },
    stack: false,
    groupOrder: "order",
    zoomKey: "ctrlKey",
    verticalScroll: true,
    maxHeight: 480,
    minHeight: 160,
    margin: { item: { horizontal: 0, vertical: 5 }, axis: 6 },
    moment: (date) => vis.moment(date).utc(),
    locale: "en",
    selectable: true,
    showCurrentTime: false,
    zoomMin: 4 * DAY,
    zoomMax: 5 * 365 * DAY,
    template: (item) => itemNode(item),
    groupTemplate: (group) => rowNode(group),
    tooltip: { followMouse: true, overflowMethod: "cap", delay: 150 },
  });
  app.timeline.on("changed", () => requestAnimationFrame(keepLabelsClear));
  // vis fits the window once after its first draw: move it only after that.
  app.drawn = new Promise((resolve) => {
    const once = () => {
      app.timeline.off("changed", once);
      resolve();
    };
    app.timeline.on("changed", once);
  });
  // Says on <body> what the window last settled on (for tests and screenshots).
  app.timeline.on("rangechanged", ({ byUser }) => {
    fitAxis();
    renderMap(); // the map shows the incidents in the timeline's window
    // Redraws by vis itself (an axis step, the cuts) keep the name of the last window.
    if (byUser || app.pendingWindow) document.body.dataset.window = byUser ? "user" : app.pendingWindow;
    app.pendingWindow = null;
  });
  app.timeline.on("select", ({ items, event }) => {
    if (!items.length || !event) return; // a selection made by code
    const key = String(items[0]).replace(/^envelope:/, "");
    go({ incident: key, who: "" }, { focus: "incident" });
  });
  app.arrows = new Arrow(app.timeline, [], {
    followRelationships: true,
    color: "#1f2937",
    strokeWidth: 2,
    hideWhenItemsNotVisible: false,
  });
  $("#timeline").addEventListener("keydown", timelineKeys);
}

function timelineKeys(event) {
  const order = app.entries.map((e) => e.incident);
  if (!order.length) return;
  const current = app.timeline.getSelection()[0];
  let index = order.indexOf(String(current ?? "").replace(/^envelope:/, ""));
  if (event.key === "ArrowRight" || event.key === "ArrowDown") index = Math.min(order.length - 1, index + 1);
  else if (event.key === "ArrowLeft" || event.key === "ArrowUp") index = Math.max(0, index < 0 ? 0 : index - 1);
  else if (event.key === "Home") index = 0;
  else if (event.key === "End") index = order.length - 1;
  else if (event.key === "Enter" || event.key === " ") {
    if (index >= 0) {
      event.preventDefault();
      go({ incident: order[index], who: "" }, { focus: "incident" });
    }
    return;
  } else return;
  event.preventDefault();
  app.timeline.setSelection(order[index], { focus: true, animation: { duration: 200 } });
  const entry = app.entries[index];
  announce(`${index + 1} of ${order.length}: ${labelText(entry)}, ${fmtRange(entry.when.earliest, entry.when.latest)}, ${levelText(entry)}. Enter opens its reports.`);
}

function renderTimeline(entries, fitKey, focus = null) {
  ensureTimeline();
  const groups = entries.map((entry, order) => ({
    id: entry.incident,
    order,
    entry,
    className: `row ${entry.level === null ? "lvl-r" : `lvl-${entry.level}`}${app.fresh.has(entry.incident) ? " fresh" : ""}`,
  }));
  const items = [];
  for (const entry of entries) {
    items.push({
      id: entry.incident,
      group: entry.incident,
      start: utc(entry.when.earliest),
      end: new Date(utc(entry.when.latest).getTime() + DAY),
      type: "range",
      className: itemClasses(entry),
      title: tooltip(entry),
      entry,
    });
    const envelope = entry.when.envelope;
    if (!entry.when.agreed && envelope) {
      items.push({
        id: `envelope:${entry.incident}`,
        group: entry.incident,
        start: utc(envelope.earliest),
        end: new Date(utc(envelope.latest).getTime() + DAY),
        type: "range",
        className: "envelope",
        title: escapeHtml(`The sources place "${labelText(entry)}" anywhere from ${fmtRange(envelope.earliest, envelope.latest)}; most agree on ${fmtRange(entry.when.earliest, entry.when.latest)}.`),
        entry,
        envelope: true,
      });
    }
  }
  const keepItems = new Set(items.map((i) => i.id));
  app.items.remove(app.items.getIds().filter((id) => !keepItems.has(id)));
  const keepGroups = new Set(groups.map((g) => g.id));
  app.groups.remove(app.groups.getIds().filter((id) => !keepGroups.has(id)));
  app.groups.update(groups);
  app.items.update(items);

  // Responds-to arrows, from the cause to the incident that answers it: solid
  // when the answer is itself an attack or strike, dashed for words.
  const present = new Set(entries.map((e) => e.incident));
  const byKey = Object.fromEntries(entries.map((e) => [e.incident, e]));
  const wanted = new Map();
  for (const entry of entries) {
    const deed = entry.level >= 1;
    for (const cause of entry.responds_to) {
      if (!present.has(cause)) continue;
      // The library fixes an arrow's colour and dash when it is added: they are
      // part of its id, so a change of level gives a new arrow.
      wanted.set(`${cause} -> ${entry.incident} ${deed ? "deed" : "words"}`, { cause, entry, deed });
    }
  }
  for (const [id, { cause, entry, deed }] of wanted) {
    if (app.arrowIds.has(id)) continue;
    app.arrowIds.add(id);
    app.arrows.addArrow({
      id,
      id_item_1: cause,
      id_item_2: entry.incident,
      direction: 1,
      color: deed ? "#1f2937" : "#a3acb9",
      line: deed ? 0 : 1,
      type: deed ? 0 : 1,
    });
  }
  for (const id of app.arrowIds) {
    const spec = app.arrows.getArrow(id);
    const on = wanted.get(id);
    // The library draws only arrows whose two items exist: park the others.
    spec.id_item_1 = on ? on.cause : "\u0000none";
    if (on) spec.title = escapeHtml(`${labelText(on.entry)} responds to ${labelText(byKey[on.cause])}`);
  }
  const recut = compressQuietStretches(entries);
  const selected = state().incident;
  app.timeline.setSelection(selected && present.has(selected) ? [selected] : []);
  const refit = (recut || fitKey !== app.fitKey) && entries.length;
  if (refit) app.fitKey = fitKey;
  app.timeline.redraw();
  return app.drawn.then(() => {
    if (focus && present.has(focus)) focusChain(focus);
    else if (refit || freshOutsideWindow(entries)) fitAll(!refit);
  });
}

// ---------------------------------------------------------------- the map
// The incidents on the timeline, in its time window, at their places (map.js).

function renderMap() {
  if (!app.map) {
    app.map = new IncidentMap($("#map"), {
      open: (key) => go({ incident: key, who: "" }, { focus: "incident" }),
      describe: (key) => {
        const entry = app.entries.find((e) => e.incident === key);
        return entry ? `${labelText(entry)}, ${fmtRange(entry.when.earliest, entry.when.latest)}` : key;
      },
    });
  }
  app.map.resize();
  const range = app.timeline?.getWindow();
  const window = range ? { start: range.start.getTime(), end: range.end.getTime() } : null;
  app.map.draw(app.entries, { window, selected: state().incident });
  // What it was drawn for, on the element (for tests and screenshots).
  Object.assign($("#map").dataset, {
    drawn: String(app.shown), windowStart: String(window?.start ?? ""), windowEnd: String(window?.end ?? ""),
  });
}

/**
 * Leave the long stretches in which no incident starts or ends out of the time
 * axis: months of nothing would otherwise squeeze the weeks that matter into
 * slivers. Bars that run through a stretch stay whole; the axis marks each cut.
 */
function compressQuietStretches(entries) {
  // Where most sources place each incident; a dissenting date (the envelope) may fall in a cut.
  const spans = entries.map((e) => [utc(e.when.earliest).getTime(), utc(e.when.latest).getTime() + DAY]);
  const stretches = $("#compress").checked ? quietStretches(spans) : [];
  const key = JSON.stringify(stretches);
  if (key === app.hiddenKey) return false;
  app.hiddenKey = key;
  for (const id of app.cutIds) app.timeline.removeCustomTime(id);
  app.cutIds = stretches.map((_, n) => `cut-${n}`);
  app.stretches = stretches;
  app.timeline.setOptions({ hiddenDates: stretches.map(({ start, end }) => ({ start: new Date(start), end: new Date(end) })) });
  stretches.forEach(({ start, end }, n) => {
    const id = app.cutIds[n];
    app.timeline.addCustomTime(new Date(end), id);
    const days = Math.round((end - start) / DAY);
    app.timeline.setCustomTimeMarker(`✂ ${days} days`, id, false);
    app.timeline.setCustomTimeTitle(`${fmtDay(new Date(start).toISOString().slice(0, 10))} – ${fmtDay(new Date(end).toISOString().slice(0, 10))}: no incident starts or ends in these ${days} days; they are left out of the axis`, id);
  });
  return true;
}

/**
 * The envelope lies behind its incident's bar: cut its label short before the
 * bar (or drop it when too little is left) rather than let it run underneath.
 */
function keepLabelsClear() {
  for (const label of document.querySelectorAll("#timeline .envelope-label")) {
    label.style.maxWidth = "";
    label.hidden = false;
    const bar = [...document.querySelectorAll("#timeline .bar-label")]
      .find((other) => other.dataset.incident === label.dataset.incident)?.closest(".vis-item");
    if (!bar) continue;
    const own = label.getBoundingClientRect();
    const box = bar.getBoundingClientRect();
    const room = box.left - own.left - 6;
    if (own.right <= box.left - 6 || own.left >= box.right) continue;
    if (room < 40) label.hidden = true;
    else label.style.maxWidth = `${room}px`;
  }
}

/** vis picks the axis step from the whole window, cuts included: pick it from what is shown. */
function fitAxis() {
  const { start, end } = app.timeline.getWindow();
  let shown = end - start;
  for (const cut of app.stretches) shown -= Math.max(0, Math.min(end, cut.end) - Math.max(start, cut.start));
  const width = $("#timeline .vis-panel.vis-center")?.clientWidth || 800;
  const step = app.stretches.length ? axisStep(shown / width) : null;
  const key = JSON.stringify(step);
  if (key === app.axisKey) return;
  app.axisKey = key;
  app.timeline.setOptions({ timeAxis: step || {} });
}

function freshOutsideWindow(entries) {
  const { start, end } = app.timeline.getWindow();
  return entries.some((e) => app.fresh.has(e.incident)
    && (utc(e.when.earliest) < start || utc(e.when.latest).getTime() + DAY > end.getTime()));
}

/** The whole period of the incidents shown. */
function fitAll(animate = true) {
  const entries = app.entries;
  if (!app.timeline || !entries.length) return;
  const starts = entries.map((e) => utc(e.when.envelope?.earliest || e.when.earliest).getTime());
  const ends = entries.map((e) => utc(e.when.envelope?.latest || e.when.latest).getTime() + DAY);
  const first = Math.min(...starts);
  const last = Math.max(...ends);
  const pad = app.stretches.length ? 3 * DAY : Math.max(3 * DAY, (last - first) * 0.04);
  app.pendingWindow = "all";
  app.timeline.setWindow(first - pad, last + pad, { animation: animate ? { duration: 300 } : false });
}

/** Zoom on an incident, what it responds to and what answers it. */
function focusChain(key) {
  const entry = app.entries.find((e) => e.incident === key);
  if (!app.timeline || !entry) return;
  const keys = new Set([key, ...entry.chain.filter((c) => c.known).map((c) => c.incident)]);
  for (const e of app.entries) if (e.responds_to.includes(key) && e.level >= 1) keys.add(e.incident);
  const shown = app.entries.filter((e) => keys.has(e.incident));
  const first = Math.min(...shown.map((e) => utc(e.when.earliest).getTime()));
  const last = Math.max(...shown.map((e) => utc(e.when.latest).getTime() + DAY));
  const pad = Math.max(4 * DAY, (last - first) * 0.25);
  app.pendingWindow = `chain:${key}`;
  app.timeline.setWindow(first - pad, last + pad, { animation: { duration: 300 } });
}

function renderIncidentList(entries) {
  const list = $("#incident-list");
  const selected = state().incident;
  fill(list,
    ...entries.map((entry) => {
      const { kind, who, where } = describe(entry);
      const actorLinks = entry.actors.map((a) =>
        a.actor_id ? actorLink(a.actor_id, shortestName(a), { title: `${a.name}: ${a.roles.join(", ")}` }) : h("span", {}, shortestName(a)),
      );
      return h(
        "li",
        {
          class: ["incident-row", app.fresh.has(entry.incident) ? "fresh" : "", selected === entry.incident ? "current" : ""].join(" "),
          dataset: { incident: entry.incident, earliest: entry.when.earliest, level: String(entry.level ?? "") },
        },
        h("span", { class: `badge ${entry.level === null ? "lvl-r" : `lvl-${entry.level}`}`, title: levelText(entry) },
          entry.level === null ? "R" : `L${entry.level}`),
        h("span", { class: "when" }, fmtRange(entry.when.earliest, entry.when.latest)),
        incidentLink(entry.incident, [kind, who].filter(Boolean).join(": "), {
          "aria-label": `${labelText(entry)}, ${fmtRange(entry.when.earliest, entry.when.latest)}, ${levelText(entry)}, ${plural(entry.sources.length, "report")}`,
          "aria-current": selected === entry.incident ? "true" : null,
        }),
        where ? h("span", { class: "where" }, where) : null,
        entry.contradictions.length ? h("span", { class: "flag" }, "⚠ contradiction") : null,
        entry.means?.length ? h("span", { class: "means" }, `by ${entry.means.map(meansLabel).join(", ")}`) : null,
        entry.possible_duplicates?.length ? h("span", { class: "flag duplicate-flag" }, "⧉ possible duplicate") : null,
        entry.responds_to.length ? h("span", { class: "responds" }, "↩ responds to ", entry.responds_to.map((k) => incidentRef(k))) : null,
        h("span", { class: "actors" }, actorLinks.flatMap((link, i) => (i ? [", ", link] : [link]))),
        app.fresh.has(entry.incident) ? h("span", { class: "new-badge" }, "new") : null,
      );
    }),
  );
  if (!entries.length) list.append(h("li", { class: "empty" }, "No incident in the log at this point for these filters."));
  $("#incident-count").textContent = `(${entries.length})`;
}

function shortKey(key) {
  const entry = app.allEntries.find((e) => e.incident === key);
  if (entry) return `${labelText(entry)} (${fmtRange(entry.when.earliest, entry.when.latest)})`;
  return key.startsWith("report:") ? "an incident" : key;
}

/** A link to an incident that says when it is not on screen, and why. */
function incidentRef(key) {
  const presence = incidentPresence(
    key, new Set(app.entries.map((e) => e.incident)), new Set(app.allEntries.map((e) => e.incident)));
  const link = incidentLink(key, shortKey(key));
  if (presence === "shown") return link;
  if (presence === "filtered") {
    return h("span", { class: "off-screen", dataset: { presence } }, link, " ",
      h("span", { class: "muted" }, "(hidden by the current filters: "),
      navLink(NO_FILTERS, "clear filters", { class: "clear-filters" }),
      h("span", { class: "muted" }, ")"));
  }
  return h("span", { class: "off-screen", dataset: { presence } }, link, " ",
    h("span", { class: "muted" }, "(not in the log at this point)"));
}

// ---------------------------------------------------------------- one incident

function renderIncident(answer, open) {
  const section = $("#incident");
  if (!open) {
    section.hidden = true;
    fill(section);
    return;
  }
  section.hidden = false;
  if (!answer) {
    fill(section,
      h("h2", { id: "incident-title", tabindex: "-1" }, "Incident not in the log at this point"),
      h("p", {}, `No incident "${open}" as of position ${app.shown ?? "?"}.`),
      navLink({ incident: "" }, "Close"),
    );
    return;
  }
  const entry = answer.entry;
  const flagged = new Map(); // report id -> warnings
  for (const c of entry.contradictions) {
    if (c.type === "date_disagreement") {
      for (const r of c.reports) if (!r.agrees_with_placement) addFlag(flagged, r.report, "date disagrees with the other sources");
    } else if (c.type === "response_before_cause") {
      addFlag(flagged, c.report, "dated before the incident it answers");
    }
  }
  const answeredBy = app.allEntries.filter((e) => e.responds_to.includes(entry.incident));
  const corrections = new Map();
  for (const c of entry.corrections) {
    if (!corrections.has(c.report)) corrections.set(c.report, []);
    corrections.get(c.report).push(c);
  }
  fill(section,
    h("div", { class: "detail-head" },
      h("h2", { id: "incident-title", tabindex: "-1" }, labelText(entry)),
      entry.level === null ? null : h("span", { class: `badge big lvl-${entry.level}` }, levelText(entry)),
      entry.status === "retracted" ? h("span", { class: "badge retracted-badge" }, "every report retracted") : null,
      navLink({ incident: "" }, "Close ✕", { class: "close", "aria-label": "Close the incident" }),
    ),
    h("dl", { class: "facts" },
      h("dt", {}, "When"),
      h("dd", {}, fmtRange(entry.when.earliest, entry.when.latest),
        entry.when.agreed ? " (what every source allows)" : h("span", { class: "flag" },
          ` ⚠ sources disagree: they range over ${fmtRange(entry.when.envelope.earliest, entry.when.envelope.latest)}; shown where most agree`)),
      entry.places.length ? [h("dt", {}, "Where"), h("dd", {}, joinNodes(entry.places.map((p) =>
        h("span", {}, h("span", { lang: langOfEntry(entry) }, p.name), p.country ? h("span", { class: "muted" }, ` (${p.country})`) : null))))] : null,
      entry.chain.length ? [h("dt", {}, "Responds to"), h("dd", {}, h("ol", { class: "chain" }, entry.chain.map((link) =>
        h("li", {}, "→ ", link.known ? incidentRef(link.incident) : h("span", {}, `${link.incident} (not in the log)`),
          link.level !== null && link.level !== undefined ? h("span", { class: "muted" }, ` · level ${link.level}`) : null))))] : null,
      answeredBy.length ? [h("dt", {}, "Answered by"), h("dd", {}, joinNodes(answeredBy.map((e) => incidentRef(e.incident))))] : null,
      entry.counts.length ? [h("dt", {}, "Counts"), h("dd", {}, h("ul", { class: "plain counts" }, entry.counts.map(countItem)))] : null,
      entry.means?.length ? [h("dt", {}, "Means"), h("dd", { class: "means" }, entry.means.map(meansLabel).join(", "))] : null,
      entry.actors.length ? h("dt", {}, "Actors") : null,
      entry.actors.length ? h("dd", {}, h("ul", { class: "plain actors-list" }, entry.actors.map((a) =>
        h("li", {},
          a.actor_id ? actorLink(a.actor_id, a.name) : h("span", {}, a.name),
          h("span", { class: "roles" }, ` ${a.roles.join(", ")}`),
          a.category ? h("span", { class: "muted" }, ` · ${CATEGORIES[a.category] || a.category}`) : null,
          a.written_as?.length ? [" — written ", joinNodes(a.written_as.map((w) => h("q", { lang: langOfEntry(entry) }, w)))] : null)))) : null,
    ),
    entry.contradictions.length ? [
      h("h3", {}, "Contradictions flagged"),
      h("ul", { class: "contradictions" }, entry.contradictions.map((c) => contradictionItem(c, false))),
    ] : null,
    h("h3", {}, `Reports (${entry.sources.length})`),
    h("ol", { class: "sources" }, entry.sources.map((s) => sourceItem(s, flagged.get(s.report) || [], corrections.get(s.report) || []))),
    entry.retracted.length ? [
      h("h3", {}, `Retracted (${entry.retracted.length})`),
      h("ul", { class: "retractions" }, entry.retracted.map((r) => h("li", { class: "retraction" },
        h("b", {}, r.outlet), r.speaker ? [" quoting ", h("span", { lang: langOfReport(r.report) }, r.speaker)] : null,
        ": retracted", r.by ? ` by ${r.by}` : "", " — ", h("q", {}, r.reason), " ",
        h("a", { href: `/reports/${r.report}`, class: "raw" }, "report and its history"))))] : null,
  );
}

/** A merged count: the figure, whose it counts, what every source allows, each source's own. */
function countItem(c) {
  const disputed = c.qualifier === "disputed";
  return h("li", { class: `count${disputed ? " disputed" : ""}`, dataset: { counted: c.counted, qualifier: c.qualifier } },
    h("b", {}, disputed ? "⚠ " : "", countFigure(c)),
    c.whose ? null : h("span", { class: "muted" }, " (the sources do not say whose)"),
    disputed
      ? h("span", { class: "muted" }, " — their figures allow no common value")
      : h("span", { class: "muted bounds" }, ` — every source allows ${boundsText(c.bounds)}`),
    h("ul", { class: "count-sources" }, c.sources.map((src) => h("li", {},
      h("q", { lang: langOfReport(src.report) }, src.wording || `${src.value}`), " ",
      h("span", { class: "muted" }, `(${sourceFigure(src)}${src.parts?.length ? `: ${src.parts.length} parts in one report, summed` : ""}`,
        `${outletOf(src.report) ? `, ${outletOf(src.report)}` : ""})`)))),
  );
}

/** The outlet of a report on screen, if the page has it. */
function outletOf(report) {
  for (const e of app.allEntries) {
    const found = e.sources.find((s) => s.report === report);
    if (found) return found.outlet;
  }
  return "";
}

function addFlag(map, report, text) {
  if (!map.has(report)) map.set(report, []);
  map.get(report).push(text);
}

function joinNodes(nodes, separator = ", ") {
  return nodes.flatMap((node, i) => (i ? [separator, node] : [node]));
}

/** A date as the source worded it, in quotation marks; a filer's remark around it, not. */
function worded(wording, lang) {
  const { words, note } = splitWording(wording);
  return [h("q", { lang }, words), note ? h("span", { class: "wording-note" }, " (", h("span", { class: "note-label" }, "filer's note: "), note, ")") : null];
}

function sourceItem(s, flags, corrections) {
  const lang = s.language || null;
  let quoted;
  if (!s.speaker) quoted = h("span", { class: "muted" }, "no one quoted: the outlet's own account");
  else quoted = ["quoting ", h("span", { class: "speaker", lang }, s.speaker), " ",
    h("span", { class: `badge ${s.anonymous ? "anon" : "named"}` }, s.anonymous ? "anonymous source" : "named source")];
  const when = s.when || {};
  return h("li", { class: `source${flags.length ? " flagged" : ""}`, dataset: { report: s.report } },
    h("div", { class: "source-head" },
      h("b", { class: "outlet" }, s.outlet), " ", quoted,
      h("span", { class: "muted" }, [
        s.channel ? ` · ${s.channel}` : "",
        s.language ? ` · ${s.language}` : "",
        s.published_at ? ` · published ${String(s.published_at).slice(0, 10)}` : "",
      ].join("")),
      " ", s.url ? h("a", { href: s.url, rel: "noreferrer" }, "original") : null,
      " ", h("a", { href: `/reports/${s.report}`, class: "raw" }, "report and its history"),
    ),
    h("p", { class: "source-when" }, h("span", { class: "muted" }, `${KINDS[s.kind] || s.kind}, dated `),
      when.wording ? [worded(when.wording, lang), " → "] : null,
      fmtRange(when.earliest, when.latest), when.edtf ? h("code", {}, ` ${when.edtf}`) : null,
      when.approximate ? " (approximate)" : "", when.uncertain ? " (uncertain)" : ""),
    flags.map((f) => h("p", { class: "flag" }, `⚠ ${f}`)),
    s.quote ? h("blockquote", { lang }, s.quote) : null,
    s.excerpt ? h("p", { class: "excerpt" }, h("span", { class: "muted" }, "Reporter's sentence: "), h("q", { lang }, s.excerpt)) : null,
    s.summary ? h("p", { class: "summary" }, h("span", { class: "note-label" }, `${NOTE_LABEL}: `), s.summary) : null,
    corrections.length ? h("ul", { class: "corrections" }, corrections.map((c) => h("li", {},
      `Corrected (${(c.fields || []).join(", ")})`, c.by ? ` on the word of ${c.by}` : "", c.reason ? [": ", h("q", {}, c.reason)] : "",
      c.position ? h("span", { class: "muted" }, ` · log position ${c.position}`) : null))) : null,
  );
}

function contradictionItem(c, withIncident) {
  const head = withIncident ? [incidentRef(c.incident), ": "] : [];
  if (c.type === "date_disagreement") {
    return h("li", { class: "contradiction" }, head, h("b", {}, "Dates disagree. "), c.detail, ".",
      h("ul", {}, c.reports.map((r) => h("li", { class: r.agrees_with_placement ? "" : "disagrees" },
        r.agrees_with_placement ? "✓ " : "✗ ", fmtRange(r.earliest, r.latest), " — ", h("b", {}, r.outlet),
        r.speaker ? [" quoting ", h("span", { lang: langOfReport(r.report) }, r.speaker)] : null,
        r.wording ? [": ", worded(r.wording, langOfReport(r.report))] : null))));
  }
  if (c.type === "response_before_cause") {
    return h("li", { class: "contradiction" }, head, h("b", {}, "Response dated before its cause. "),
      h("b", {}, c.outlet), c.speaker ? [" quoting ", h("span", { lang: langOfReport(c.report) }, c.speaker)] : null,
      c.wording ? [": ", worded(c.wording, langOfReport(c.report))] : null, ` — ${c.detail} (`,
      incidentRef(c.responds_to), ").");
  }
  if (c.type === "count_disagreement") {
    return h("li", { class: "contradiction" }, head, h("b", {}, "Counts disagree. "), c.detail, ".",
      h("ul", {}, c.reports.map((r) => h("li", {}, h("b", {}, r.outlet),
        r.speaker ? [" quoting ", h("span", { lang: langOfReport(r.report) }, r.speaker)] : null, ": ",
        r.wording ? h("q", { lang: langOfReport(r.report) }, r.wording) : null, ` (${sourceFigure(r)})`))));
  }
  return h("li", { class: "contradiction" }, head, c.detail || c.type);
}

// ---------------------------------------------------------------- the tally

function renderTally(tally) {
  const headline = $("#tally-headline");
  if (!tally) {
    headline.textContent = "No tally at this point.";
    return;
  }
  headline.textContent = tally.headline?.text || "";
  renderTallyFigures(tally);
  const series = new Map(tally.series.map((s) => [s.week, s]));
  const reported = tally.reported.map((r) => ({ ...r, week: mondayOf(r.speaks_for || r.published_at) }));
  let last = mondayOf(tally.start);
  for (const key of [...series.keys(), ...reported.map((r) => r.week)]) if (key > last) last = key;
  const weeks = [];
  for (let t = utc(mondayOf(tally.start)).getTime(); t <= utc(last).getTime(); t += 7 * DAY) {
    weeks.push(new Date(t).toISOString().slice(0, 10));
  }
  let running = 0;
  const perWeek = [];
  const cumulative = [];
  for (const week of weeks) {
    const row = series.get(week);
    running = row ? row.cumulative : running;
    perWeek.push(row ? row.attacks : 0);
    cumulative.push(running);
  }
  const markers = weeks.map(() => null);
  const annotations = {};
  reported.forEach((r, n) => {
    const index = weeks.indexOf(r.week);
    if (index < 0) return;
    markers[index] = Math.max(markers[index] ?? 0, r.value);
    const documented = cumulative[index];
    const bound = r.qualifier === "at_least" ? "at least " : QUALIFIERS[r.qualifier] || "";
    annotations[`gap${n}`] = {
      type: "line",
      yScaleID: "total",
      xMin: index,
      xMax: index,
      yMin: documented,
      yMax: r.value,
      borderColor: REPORTED_COLOUR,
      borderWidth: 2,
      borderDash: [6, 5],
      label: {
        display: true,
        content: `gap: ${r.value - documented}${r.qualifier === "at_least" ? "+" : ""} not documented in the log`,
        position: "center",
        backgroundColor: "rgba(255,255,255,0.92)",
        color: REPORTED_COLOUR,
        font: { size: 12 },
        xAdjust: -110,
      },
    };
    annotations[`reported${n}`] = {
      type: "label",
      yScaleID: "total",
      xValue: index,
      yValue: r.value,
      position: { x: "end", y: "center" },
      xAdjust: -16,
      content: [`${bound}${r.value} ${r.counted} reported: «${r.wording || r.value}»`, `${r.outlet}${r.speaker ? `, quoting ${r.speaker}` : ""}, ${fmtDay(r.published_at || r.speaks_for)}`],
      backgroundColor: "rgba(255,255,255,0.95)",
      borderColor: REPORTED_COLOUR,
      borderWidth: 1,
      borderRadius: 4,
      color: "#1f2937",
      font: { size: 12 },
      padding: 6,
      textAlign: "right",
    };
  });
  // Two scales: a week's few documented attacks would be a hairline next to 165.
  const top = Math.max(5, ...cumulative, ...reported.map((r) => r.value));
  const weekTop = Math.max(4, ...perWeek);
  const labels = weeks.map((w, i) => (i === 0 || w.slice(5, 7) === "01" && utc(w).getUTCDate() <= 7 ? fmtDay(w) : fmtDay(w, false)));
  const data = {
    labels,
    datasets: [
      { type: "bar", label: "Documented attacks per week", data: perWeek, yAxisID: "week", backgroundColor: WEEK_COLOUR, pointStyle: "rect", order: 3, maxBarThickness: 28 },
      { type: "line", label: "Documented, cumulative", data: cumulative, yAxisID: "total", borderColor: "#1f2937", backgroundColor: "#1f2937", pointRadius: 2, borderWidth: 2, stepped: true, pointStyle: "line", order: 2 },
      { type: "line", label: "Reported by sources (lower bound)", data: markers, yAxisID: "total", showLine: false, pointStyle: "triangle", pointRadius: 10, pointHoverRadius: 12, backgroundColor: REPORTED_COLOUR, borderColor: REPORTED_COLOUR, order: 1 },
      ...reportedLines(tally.reported_series || [], weeks),
    ],
  };
  const canvas = $("#tally-chart");
  canvas.setAttribute("aria-label", `Chart. ${tally.headline?.text || ""}. Documented per week, cumulative, and reported tallies as markers; the same data is in the table below.`);
  if (!app.chart) {
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.color = "#374151";
    app.chart = new Chart(canvas, {
      data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          week: {
            position: "left", beginAtZero: true, suggestedMax: weekTop,
            title: { display: true, text: "documented per week (bars)", color: WEEK_COLOUR },
            ticks: { precision: 0, color: WEEK_COLOUR }, grid: { display: false },
          },
          total: {
            position: "right", beginAtZero: true, suggestedMax: top * 1.1,
            title: { display: true, text: "in all: documented (line), reported (▲)" }, ticks: { precision: 0 },
          },
          x: { title: { display: true, text: "week beginning" }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        },
        plugins: {
          legend: { position: "bottom", reverse: true, labels: { usePointStyle: true } },
          annotation: { annotations },
          tooltip: {
            callbacks: {
              title: (items) => `Week of ${fmtDay(weeks[items[0].dataIndex])}`,
              afterBody: (items) => {
                const rs = reported.filter((r) => r.week === weeks[items[0].dataIndex]);
                return rs.map((r) => `${r.outlet}: «${r.wording}»`);
              },
            },
          },
        },
      },
    });
  } else {
    app.chart.data = data;
    app.chart.options.scales.total.suggestedMax = top * 1.1;
    app.chart.options.scales.week.suggestedMax = weekTop;
    app.chart.options.plugins.annotation.annotations = annotations;
    app.chart.options.plugins.tooltip.callbacks.title = (items) => `Week of ${fmtDay(weeks[items[0].dataIndex])}`;
    app.chart.options.plugins.tooltip.callbacks.afterBody = (items) =>
      reported.filter((r) => r.week === weeks[items[0].dataIndex]).map((r) => `${r.outlet}: «${r.wording}»`);
    app.chart.update("none");
  }

  fill($("#tally-table tbody"), ...weeks.map((week, i) => h("tr", {},
    h("th", { scope: "row" }, fmtDay(week)),
    h("td", {}, String(perWeek[i])),
    h("td", {}, String(cumulative[i])),
    h("td", {}, joinNodes(reported.filter((r) => r.week === week).map((r) =>
      h("span", {}, `${QUALIFIERS[r.qualifier] ?? ""}${r.value} (${r.outlet}: `, h("q", { lang: langOfReport(r.report) }, r.wording), ")")))),
  )));
  fill($("#reported"), ...(reported.length ? reported.map((r) => h("li", { class: "reported-item" },
    h("b", {}, `${QUALIFIERS[r.qualifier] ?? ""}${r.value} ${r.counted}`), " — ", h("q", { lang: langOfReport(r.report) }, r.wording),
    ` — ${r.outlet}`, r.speaker ? [" quoting ", h("span", { lang: langOfReport(r.report) }, r.speaker)] : "",
    `, published ${fmtDay(r.published_at)}; counts since ${fmtDay(r.since)}, up to ${fmtDay(r.speaks_for)}.`,
    r.excerpt ? h("p", { class: "excerpt" }, h("q", { lang: langOfReport(r.report) }, r.excerpt)) : null,
  )) : [h("li", { class: "empty" }, "No source has reported a tally at this point.")]));
  fill($("#attacks"), ...(tally.attacks.length ? tally.attacks.map((a) => h("li", {},
    h("span", { class: "when" }, fmtDay(a.day)), " ", incidentRef(a.incident),
    a.targets.length ? [" — on ", joinNodes(a.targets.map((t) => actorLink(t.key, t.name)))] : null,
    a.claimants?.length ? [" — claimed by ", joinNodes(a.claimants.map((c) => (c.key ? actorLink(c.key, c.name) : c.name)))] : null,
    a.countries?.length ? ` (${a.countries.join(", ")})` : "",
    ` · ${plural(a.reports, "report")}`,
  )) : [h("li", { class: "empty" }, "None documented at this point.")]));
}

/** The three counts side by side, and the attacks behind the second and third. */
function renderTallyFigures(tally) {
  const figure = (id, value, label, note) => [
    h("dt", { id }, label), h("dd", { "aria-labelledby": id }, h("b", {}, String(value ?? 0)), note ? h("span", { class: "muted" }, ` ${note}`) : null),
  ];
  fill($("#tally-figures"),
    figure("fig-documented", tally.documented_attacks, "Documented", `certainly since ${fmtDay(tally.start)}`),
    figure("fig-possibly", tally.possibly_in_period, "Possibly in the period", "dated across the start: may or may not count"),
    figure("fig-double", tally.possibly_double_counted, "Possibly counted twice", "likely duplicates not yet decided"),
  );
  const straddling = tally.possibly_in_period_attacks || [];
  const pairs = tally.double_count_candidates || [];
  fill($("#tally-possible"),
    straddling.length ? [h("h3", {}, "Possibly in the period"), h("ul", { id: "possibly-in-period", class: "attacks" }, straddling.map((a) => h("li", {},
      h("span", { class: "when" }, fmtRange(a.when?.earliest || a.day, a.when?.latest)), " ", incidentRef(a.incident),
      ` — its dates run across ${fmtDay(tally.start)}`)))] : null,
    pairs.length ? [h("h3", {}, "Possibly counted twice"), h("ul", { id: "double-counted", class: "attacks" }, pairs.map((pair) => h("li", {},
      joinNodes(pair.map((key) => incidentRef(key)), " and "), " may be one attack: ",
      h("a", { href: "#review-heading" }, "review them"))))] : null,
  );
}

/** Each source's reported figures as a stepped line on the cumulative scale. */
function reportedLines(series, weeks) {
  const colours = [REPORTED_COLOUR, "#1d6fa5", "#7a5d00", "#2f7d32", "#8a3ffc"];
  return series.map((s, n) => ({
    type: "line",
    label: `Reported by ${seriesName(s)} (stepped)`,
    data: reportedSteps(s.points, weeks),
    yAxisID: "total",
    // Chart.js's `true` ("before") holds each figure until the next point; "after" would rise a week early.
    stepped: true,
    spanGaps: true,
    borderColor: colours[n % colours.length],
    backgroundColor: colours[n % colours.length],
    borderWidth: 2,
    borderDash: [2, 3],
    pointRadius: 0,
    pointStyle: "line",
    order: 1,
    source: { outlet: s.outlet, speaker: s.speaker },
  }));
}

// ---------------------------------------------------------------- contradictions

function renderContradictions(answer) {
  const list = $("#contradictions");
  const items = answer?.contradictions || [];
  fill(list, ...(items.length ? items.map((c) => contradictionItem(c, true)) : [h("li", { class: "empty" }, "None at this point.")]));
}

// ---------------------------------------------------------------- duplicates to review
// Likely duplicates not yet decided (GET /duplicates), each with the analyst's two
// answers. A decision is a write: it needs an API key, which stays in this tab's
// sessionStorage (never in the URL, never sent anywhere but the decision itself).

const KEY_STORE = "timeline-api-key";
const reasons = new Map(); // what the analyst typed per pair, kept across live redraws

/** Every undecided candidate (following `next` pages). */
async function duplicatesAll(params) {
  const first = await getJSON("/duplicates", { ...params, limit: 1000 });
  let page = first;
  let pages = 0;
  while (page.next && pages < 20) {
    page = await getJSON("/duplicates", { ...params, limit: 1000, cursor: page.next });
    first.duplicates.push(...page.duplicates);
    pages += 1;
  }
  return first;
}

function renderReview(answer, s) {
  const list = $("#review-list");
  const pairs = answer?.duplicates || [];
  $("#review-count").textContent = `(${pairs.length})`;
  const past = Boolean(s.as_of);
  fill(list, ...(pairs.length ? pairs.map((pair) => reviewItem(pair, past)) : [h("li", { class: "empty" },
    past ? "No undecided likely duplicate at this point of the log." : "No likely duplicate left to review.")]));
}

function reviewItem(pair, past) {
  const id = `pair-${pair.incidents.join("-").replace(/[^A-Za-z0-9-]/g, "")}`;
  return h("li", { class: "review-item", dataset: { incidents: pair.incidents.join(" ") } },
    h("p", { class: "pair" }, joinNodes(pair.incidents.map((key) => incidentRef(key)), " and "),
      pair.both_attacks ? h("span", { class: "badge" }, "both attacks: the tally may count one twice") : null),
    h("ul", { class: "reasons", "aria-label": "Why they look alike" }, pair.reasons.map((r) =>
      h("li", {}, h("b", {}, `${r.rule}: `), r.detail))),
    past
      ? h("p", { class: "muted" }, "Decisions are made on the log as it is now: ", navLink({ as_of: "" }, "show the log now"), ".")
      : h("form", { class: "decide", onsubmit: (event) => event.preventDefault() },
        h("label", { for: `${id}-reason` }, "Reason"),
        h("input", { id: `${id}-reason`, class: "reason", type: "text", required: true, value: reasons.get(id) || null,
          placeholder: "why you decide so (recorded with the decision)", oninput: (event) => reasons.set(id, event.target.value) }),
        h("button", { type: "button", class: "small-button link", onclick: (event) => decide(event, "link", pair) }, "Same occurrence (link)"),
        h("button", { type: "button", class: "small-button distinct", onclick: (event) => decide(event, "distinct", pair) }, "Not the same"),
        h("p", { class: "decide-status", role: "status" })),
  );
}

/** POST the decision for one candidate, then read the views again from its position. */
async function decide(event, action, pair) {
  const form = event.target.closest("form");
  const status = $(".decide-status", form);
  const reason = $(".reason", form).value.trim();
  const key = $("#review-key").value.trim();
  const by = $("#review-by").value.trim();
  if (!key) {
    status.textContent = "A decision is a write: enter an API key above (timeline keys create).";
    $("#review-key").focus();
    return;
  }
  if (!reason) {
    status.textContent = "Say why in the reason field: it is recorded with the decision.";
    $(".reason", form).focus();
    return;
  }
  const bodies = action === "link"
    ? linkPlan(pair.incidents, app.allEntries)
    : [{ incidents: pair.incidents }];
  for (const button of form.querySelectorAll("button")) button.disabled = true;
  status.textContent = "Sending…";
  let position = null;
  try {
    for (const body of bodies) {
      const answer = await fetch(`/decisions/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ ...body, reason, ...(by ? { decided_by: by } : {}) }),
      });
      const got = await answer.json().catch(() => null);
      if (!answer.ok) throw new RequestRefused(errorText(got, answer.status), answer.status);
      position = Math.max(position ?? 0, got.position);
    }
  } catch (error) {
    status.textContent = `Not recorded: ${error.message || error}.`;
    for (const button of form.querySelectorAll("button")) button.disabled = false;
    return;
  }
  $("#review-status").textContent = action === "link"
    ? `Linked at log position ${position}: the two are now one incident.`
    : `Marked distinct at log position ${position}.`;
  app.head = Math.max(app.head, position);
  render({ minPosition: position });
}

const reviewKey = $("#review-key");
reviewKey.value = sessionStorage.getItem(KEY_STORE) || "";
reviewKey.addEventListener("input", () => {
  if (reviewKey.value) sessionStorage.setItem(KEY_STORE, reviewKey.value);
  else sessionStorage.removeItem(KEY_STORE);
});
$("#review-auth").addEventListener("submit", (event) => event.preventDefault());

// ---------------------------------------------------------------- an actor's page

function actorName(id) {
  return app.actors.get(id)?.name || id;
}

function renderActor(answer, id, rollup) {
  const section = $("#actor-view");
  if (!answer) {
    fill(section,
      navLink({ who: "" }, "← Back to the timeline", { class: "back" }),
      h("h2", { id: "actor-title", tabindex: "-1" }, actorName(id)),
      h("p", {}, `This actor is not in the log as of position ${app.shown ?? "?"}.`),
    );
    return;
  }
  const actor = answer.actor;
  const roles = new Map();
  for (const a of answer.appearances) roles.set(a.role, (roles.get(a.role) || 0) + 1);
  const s = answer.summary;
  fill(section,
    navLink({ who: "" }, "← Back to the timeline", { class: "back" }),
    h("div", { class: "detail-head" },
      h("h2", { id: "actor-title", tabindex: "-1" }, actor.name),
      actor.category ? h("span", { class: "badge cat" }, CATEGORIES[actor.category] || actor.category) : null),
    actor.description ? h("p", { class: "description" }, h("span", { class: "note-label" }, "Registry description (not a source's words): "), actor.description) : null,
    actor.aliases?.length ? h("p", {}, "Also written: ", joinNodes(actor.aliases.map((a) =>
      h("span", { class: "alias", lang: a.language || null }, a.name, a.language ? h("span", { class: "muted" }, ` (${a.language})`) : null)))) : null,
    actor.parent_id ? h("p", {}, "Within: ", actorLink(actor.parent_id, actorName(actor.parent_id))) : null,
    actor.members?.length ? h("p", {}, "Includes: ", joinNodes(actor.members.map((m) => actorLink(m, actorName(m))))) : null,
    h("label", { class: "check" },
      h("input", { type: "checkbox", id: "rollup", checked: rollup, onchange: (e) => go({ rollup: e.target.checked ? "" : "0" }) }),
      " Include the actors within it"),
    h("ul", { class: "stats", "aria-label": "Summary" },
      stat(s.reports, "report"), stat(s.incidents, "incident"), stat(s.attacks_carried_out, "attack carried out", "attacks carried out"),
      stat(s.attacks_suffered, "attack suffered", "attacks suffered"), stat(s.statements, "statement"), stat(s.denials, "denial"),
      stat(s.retracted_reports, "retracted report")),
    h("p", { class: "roles-line" }, "Roles: ", [...roles].map(([role, n]) => `${role} ×${n}`).join(", ") || "none"),
    h("table", { class: "appearances" },
      h("caption", {}, "Every report it appears in, in time order"),
      h("thead", {}, h("tr", {}, ["When", "Role", "Written as", "Kind", "Incident", "Source", "Quoted"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, answer.appearances.map((a) => h("tr", { class: a.retracted ? "retracted-row" : "" },
        h("td", {}, fmtRange(a.when?.earliest, a.when?.latest), a.when?.wording ? h("div", {}, worded(a.when.wording, langOfReport(a.report))) : null),
        h("td", {}, h("b", {}, a.role), a.actor !== actor.id ? h("div", { class: "muted" }, "as ", actorLink(a.actor, a.actor_name)) : null),
        h("td", {}, joinNodes((a.written_as || []).map((w) => h("q", { lang: langOfReport(a.report) }, w)))),
        h("td", {}, KINDS[a.kind] || a.kind, a.retracted ? h("div", { class: "badge retracted-badge" }, "retracted") : null,
          a.corrections ? h("div", { class: "muted" }, `corrected ×${a.corrections}`) : null),
        h("td", {}, a.incident ? incidentRef(a.incident) : "—"),
        h("td", {}, h("b", {}, a.outlet), a.speaker ? [" quoting ", h("span", { lang: langOfReport(a.report) }, a.speaker)] : null,
          a.speaker ? h("span", { class: `badge ${a.anonymous ? "anon" : "named"}` }, a.anonymous ? "anonymous" : "named") : null),
        h("td", {}, a.quote ? h("q", { lang: langOfReport(a.report) }, a.quote) : h("span", { class: "muted" }, "—")),
      )))),
  );
}

/** "1 incident", "3 incidents": the number in bold. */
function stat(value, one, many) {
  const [count, ...words] = plural(value ?? 0, one, many).split(" ");
  return h("li", {}, h("b", {}, count), ` ${words.join(" ")}`);
}

// ---------------------------------------------------------------- filters

function renderFilters(s, timelineForOptions) {
  for (const entry of timelineForOptions?.entries || []) {
    for (const place of entry.places) {
      if (!place.country) continue;
      if (!app.countries.has(place.country)) app.countries.set(place.country, new Set());
      app.countries.get(place.country).add(place.name);
    }
  }
  const countries = [...app.countries.keys()];
  if (s.country && !countries.includes(s.country.toUpperCase())) countries.push(s.country.toUpperCase());
  countries.sort();
  fillSelect($("#f-country"), "all", countries.map((code) => {
    const written = [...(app.countries.get(code) || [])].slice(0, 3).join(", ");
    return [code, `${code} — ${countryName(code)}${written ? ` (as written: ${written})` : ""}`];
  }), s.country.toUpperCase());
  const actors = [...app.actors.values()].sort((a, b) => a.name.localeCompare(b.name));
  // The URL may name the actor by any of its names ("Téhéran"): select its entry.
  const chosen = resolveActor(actors, s.actor);
  fillSelect($("#f-actor"), "all", actors.map((a) => {
    const other = (a.aliases || []).map((x) => x.name).slice(0, 3).join(", ");
    return [a.id, other ? `${a.name} (${other})` : a.name];
  }), chosen ? chosen.id : s.actor, s.actor && !chosen ? `${s.actor} (not a registered actor)` : null);
  $("#f-kind").value = s.kind;
  $("#f-level").value = s.level;
  fillSelect($("#f-means"), "any", Object.entries(MEANS), s.means, s.means ? `${s.means} (not a means)` : null);
  $("#f-reset").href = href(NO_FILTERS);
}

function fillSelect(select, allText, options, value, unknownText = null) {
  const current = [...select.options].map((o) => `${o.value}\u0000${o.textContent}`).join("\n");
  const wanted = [["", allText], ...options].map(([v, t]) => `${v}\u0000${t}`).join("\n");
  if (current !== wanted) {
    select.replaceChildren(...[["", allText], ...options].map(([v, t]) => h("option", { value: v }, t)));
  }
  if (value && ![...select.options].some((o) => o.value === value)) {
    select.append(h("option", { value }, unknownText || value));
  }
  select.value = value;
}

$("#filters").addEventListener("change", (event) => {
  const form = event.currentTarget;
  go({
    country: form.country.value,
    actor: form.actor.value,
    kind: form.kind.value,
    level: form.level.value,
    means: form.means.value,
  });
});
$("#filters").addEventListener("submit", (event) => event.preventDefault());

// ---------------------------------------------------------------- the slider over the log

const slider = $("#asof");

function updateSlider(s) {
  slider.min = String(app.marksScanned ? sliderStart(app.marks, app.head) : 0); // 0 until the marks are read
  slider.max = String(app.head);
  const value = s.as_of ? Math.min(app.shown ?? app.head, app.head) : app.head;
  if (document.activeElement !== slider || !app.sliderTimer) slider.value = String(value);
  $("#asof-out").textContent = s.as_of ? `${value} of ${app.head}` : `${app.head} (now)`;
  slider.setAttribute("aria-valuetext", s.as_of ? `position ${value} of ${app.head}` : `position ${app.head}, now, live`);
  $("#to-live").disabled = !s.as_of;
}

/** Where reports were filed, corrected or retracted, read from the log as it grows. */
async function loadMarks() {
  if (app.marksLoading || app.marksScanned >= app.head) return;
  app.marksLoading = true;
  const upTo = app.head;
  try {
    const types = ["Report.Filed", "Report.Corrected", "Report.Retracted"].map((t) => `&type=${t}`).join("");
    const answer = await fetch(`/events?after=${app.marksScanned}&limit=${MAX_MARKS}${types}`);
    if (!answer.ok) return;
    const events = (await answer.text()).split("\n").filter(Boolean).map((line) => JSON.parse(line));
    const known = new Set(app.marks.map((m) => m.position));
    app.marks.push(...reportMarks(events).filter((m) => !known.has(m.position)));
    app.marks.sort((a, b) => a.position - b.position);
    app.marksScanned = events.length >= MAX_MARKS ? events[events.length - 1].position : upTo;
  } catch {
    return;
  } finally {
    app.marksLoading = false;
  }
  updateSlider(state());
  drawMarks();
  if (app.marksScanned < app.head) loadMarks();
}

function drawMarks() {
  const min = Number(slider.min);
  const max = Number(slider.max);
  const span = Math.max(1, max - min);
  const box = $("#asof-marks");
  fill(box, ...app.marks.filter((m) => m.position >= min && m.position <= max).map((m) => h("span", {
    class: `mark ${m.type === "Report.Filed" ? "filed" : "changed"}`,
    style: `left: ${((m.position - min) / span) * 100}%`,
    title: `position ${m.position}: ${m.type}`,
    dataset: { position: String(m.position) },
  })));
  const first = sliderStart(app.marks, app.head);
  $("#asof-help").textContent = app.marks.length
    ? `Drag back (or use the arrow keys) to see the whole page as the log stood then. Marks: reports filed (tall), corrected or retracted (short). It starts at the first report, position ${first}; the positions before it register the actors.`
    : "Drag back (or use the arrow keys) to see the whole page as the log stood then.";
}

slider.addEventListener("input", () => {
  const value = Number(slider.value);
  const live = value >= app.head;
  $("#asof-out").textContent = live ? `${app.head} (now)` : `${value} of ${app.head}`;
  clearTimeout(app.sliderTimer);
  app.sliderTimer = setTimeout(() => {
    app.sliderTimer = null;
    go({ as_of: live ? "" : String(value) }, { replace: true });
  }, 120);
});
$("#to-live").addEventListener("click", () => go({ as_of: "" }));

// ---------------------------------------------------------------- the second axis: published by a day

const reportedBy = $("#reported-by");

/** The day control and what the service said it counted (`reported_by` in its answer). */
function updateReportedBy(s, counted) {
  if (document.activeElement !== reportedBy) reportedBy.value = s.reported_by;
  $("#reported-by-clear").disabled = !s.reported_by;
  const note = $("#reported-by-note");
  if (!counted) {
    note.textContent = "";
    return;
  }
  const undated = counted.undated_reports + counted.undated_changes;
  note.textContent = `Published by ${fmtDay(counted.day)}. ` + (undated
    ? `${plural(counted.undated_reports, "report")} and ${plural(counted.undated_changes, "correction or retraction", "corrections or retractions")} without a publication day counted from the day they were recorded.`
    : "Everything counted has a publication day of its own.");
}

reportedBy.addEventListener("change", () => go({ reported_by: reportedBy.value }));
$("#reported-by-clear").addEventListener("click", () => go({ reported_by: "" }));
$("#fit-all").addEventListener("click", () => fitAll());
$("#compress").addEventListener("change", () => {
  if (!app.timeline) return;
  compressQuietStretches(app.entries);
  fitAll(false);
});

async function describePosition(position) {
  const target = $("#asof-event");
  if (!position) {
    target.textContent = "Position 0: before the first event, the log was empty.";
    return;
  }
  try {
    const answer = await fetch(`/events?after=${position - 1}&limit=1`);
    const line = (await answer.text()).split("\n").find(Boolean);
    if (!line) return;
    const event = JSON.parse(line);
    const data = event.data || {};
    const content = data.content || {};
    const cut = (text) => (text.length > 160 ? `${text.slice(0, 160)}…` : text);
    // Only the source's own words go in quotation marks, in the source's language.
    const words = content.excerpt || content.source?.quote;
    let what = "";
    if (words) what = h("q", { lang: content.source?.language || null }, cut(words));
    else if (content.summary) what = h("span", {}, h("span", { class: "note-label" }, `${NOTE_LABEL}: `), cut(content.summary));
    else if (data.name || data.reason) what = cut(data.name || data.reason);
    const when = String(event.recorded_at).replace("T", " ").slice(0, 19);
    fill(target, h("span", {}, `Position ${event.position}: ${event.type}, recorded ${when} UTC`, what ? [" — ", what] : ""));
  } catch {
    target.textContent = "";
  }
}

// ---------------------------------------------------------------- rendering everything

function showError(error) {
  const box = $("#error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    delete box.dataset.kind;
    return;
  }
  box.hidden = false;
  if (!(error instanceof RequestRefused)) {
    box.dataset.kind = "retrying";
    box.textContent = `Could not read the service: ${error.message || error}. Retrying…`;
    return;
  }
  const s = state();
  box.dataset.kind = "refused";
  fill(box,
    h("b", {}, "The service did not accept this view: "), error.message, ". ",
    s.country || s.actor || s.kind || s.level || s.means
      ? navLink(NO_FILTERS, "Clear filters", { class: "error-action", "data-nav": "reset" })
      : null,
    s.as_of ? [" ", navLink({ as_of: "" }, "Show the log now", { class: "error-action" })] : null,
    s.reported_by ? [" ", navLink({ reported_by: "" }, "Any publication day", { class: "error-action" })] : null,
  );
}

async function render({ focus = null, minPosition = null } = {}) {
  const seq = ++app.seq;
  const s = state();
  const common = {
    ...(s.as_of ? { as_of: s.as_of } : minPosition ? { min_position: minPosition } : {}),
    ...(s.reported_by ? { reported_by: s.reported_by } : {}),
  };
  const filters = { country: s.country, actor: s.actor, kind: s.kind, min_level: s.level, means: s.means };
  const filtered = Boolean(s.country || s.actor || s.kind || s.level || s.means);
  const onActor = Boolean(s.who);
  try {
    const [timeline, unfiltered, tally, contradictions, actors, incident, actorHistory, duplicates] = await Promise.all([
      timelineAll({ ...filters, ...common }),
      filtered ? timelineAll(common) : null,
      onActor ? null : getJSON("/tally", { group_by: "week", attacks: true, reported: true, ...common }),
      onActor ? null : getJSON("/contradictions", common),
      getJSON("/actors"),
      s.incident && !onActor ? getJSON(`/incidents/${encodeURIComponent(s.incident)}`, common, { missing: true }) : null,
      onActor ? historyAll(`/actors/${encodeURIComponent(s.who)}/history`, { rollup: s.rollup === "0" ? "false" : "true", ...common }) : null,
      onActor ? null : duplicatesAll(s.as_of ? { as_of: s.as_of } : minPosition ? { min_position: minPosition } : {}),
    ]);
    if (seq !== app.seq) return; // a newer render started meanwhile
    clearTimeout(app.retryTimer);
    showError(null);
    $("#main").hidden = false;
    app.shown = timeline.position;
    if (!s.as_of) app.head = Math.max(app.head, timeline.position);
    for (const actor of actors || []) app.actors.set(actor.id, actor);
    app.entries = timeline.entries;
    app.allEntries = unfiltered?.entries || timeline.entries; // what the filters hide is still in the log
    learnLanguages(timeline.entries);
    learnLanguages(unfiltered?.entries);
    if (!s.as_of) markFresh(timeline.entries, minPosition !== null);

    $("#home-view").hidden = onActor;
    $("#actor-view").hidden = !onActor;
    $("#filters").hidden = onActor;
    renderFilters(s, unfiltered || timeline);
    updateSlider(s);
    updateReportedBy(s, timeline.reported_by);
    loadMarks();
    drawMarks();
    setConnection(app.connection);
    describePosition(app.shown);

    if (onActor) {
      renderActor(actorHistory, s.who, s.rollup !== "0");
      document.title = `${actorHistory?.actor?.name || "Actor"} — timeline`;
      if (focus === "actor") {
        $("#actor-title")?.focus();
        window.scrollTo({ top: 0 });
      }
    } else {
      renderTimeline(timeline.entries, JSON.stringify(filters), focus === "incident" ? s.incident : null);
      renderMap();
      renderIncidentList(timeline.entries);
      renderIncident(incident, s.incident);
      renderTally(tally);
      renderContradictions(contradictions);
      renderReview(duplicates, s);
      document.title = incident?.entry ? `${labelText(incident.entry)} — timeline` : "timeline: escalation, attacks and actors";
      if (focus === "incident" && s.incident) {
        $("#incident-title")?.focus({ preventScroll: true });
        $("#incident").scrollIntoView({ block: "start" });
      }
    }
    document.body.dataset.position = String(app.shown);
    document.body.dataset.ready = "1";
  } catch (error) {
    if (seq !== app.seq) return;
    showError(error);
    clearTimeout(app.retryTimer);
    if (error instanceof RequestRefused) {
      // Say it once; what was on screen answered another question, so hide it.
      $("#main").hidden = true;
      renderFilters(state(), null);
      document.body.dataset.ready = "refused";
      return;
    }
    app.retryTimer = setTimeout(() => render(), 3000);
  }
}

/** Incidents that are new, or have new reports, since the page last saw them. */
function markFresh(entries, live) {
  const now = new Map(entries.map((e) => [e.incident, e.sources.length + e.retracted.length + e.corrections.length]));
  if (app.known && live) {
    const fresh = entries.filter((e) => !app.known.has(e.incident) || app.known.get(e.incident) < now.get(e.incident));
    if (fresh.length) {
      for (const e of fresh) app.fresh.add(e.incident);
      announce(`${plural(fresh.length, "incident")} new or updated: ${fresh.map(labelText).join("; ")}`);
      setTimeout(() => {
        for (const e of fresh) app.fresh.delete(e.incident);
      }, 15_000);
    }
  }
  app.known ??= new Map();
  for (const [key, reports] of now) app.known.set(key, reports); // filters hide, never forget
}

function announce(text) {
  const box = $("#announce");
  box.textContent = "";
  setTimeout(() => {
    box.textContent = text;
  }, 30);
}

// ---------------------------------------------------------------- live

function setConnection(connection) {
  app.connection = connection;
  const s = state();
  const box = $("#live");
  const past = Boolean(s.as_of);
  const names = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };
  box.dataset.state = past && connection === "live" ? "past" : connection;
  const shown = app.shown ?? "…";
  const text = past
    ? `Past: showing position ${shown} of ${app.head} · ${connection === "live" ? "connected" : names[connection]}`
    : `${names[connection]} · log position ${shown}`;
  $("#live-text").textContent = text;
  box.title = past ? "Showing the log as it stood at an earlier position; the head keeps moving." : "New reports appear as they are filed.";
}

let source = null;
let retryDelay = 1000;

function subscribe(after) {
  if (source) source.close();
  app.liveFrom = after;
  setConnection(app.connection === "live" ? "reconnecting" : app.connection);
  source = new EventSource(`/subscribe/timeline?after=${after}`);
  source.addEventListener("open", () => {
    retryDelay = 1000;
    setConnection("live");
  });
  source.addEventListener("change", (event) => {
    const message = JSON.parse(event.data);
    const position = Number(event.lastEventId) || message.position;
    app.liveFrom = Math.max(app.liveFrom ?? 0, position);
    app.head = Math.max(app.head, position);
    if (app.connection !== "live") setConnection("live");
    if (state().as_of) {
      updateSlider(state());
      setConnection("live");
      return;
    }
    clearTimeout(app.refreshTimer);
    app.refreshTimer = setTimeout(() => render({ minPosition: app.head }), 150);
  });
  const resume = () => {
    source.close();
    setConnection("reconnecting");
    setTimeout(() => subscribe(app.liveFrom ?? 0), retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15_000);
  };
  source.addEventListener("overflow", resume);
  source.addEventListener("end", resume);
  source.addEventListener("error", () => {
    // Reconnect ourselves, from the last id seen (the URL's `after` would win
    // over the browser's Last-Event-ID).
    if (!navigator.onLine) setConnection("offline");
    resume();
  });
}

wireSearch({
  ask: (params) => getJSON("/search", params),
  // Search answers as of the page's point in the log, like every view.
  common: () => (state().as_of ? { as_of: state().as_of } : {}),
  open: (key) => go({ incident: key, who: "" }, { focus: "incident" }),
  label: shortKey,
});

async function start() {
  try {
    const ready = await getJSON("/readyz", {}, { missing: true });
    app.head = ready?.position ?? 0;
  } catch {
    app.head = 0;
  }
  await render({ focus: state().incident ? "incident" : state().who ? "actor" : null });
  let from = app.shown ?? app.head;
  if (state().as_of) {
    const now = await getJSON("/timeline", { limit: 1 }).catch(() => null);
    from = now?.position ?? app.head;
  }
  subscribe(from);
}

start();
