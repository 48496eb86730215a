// Pure rules for issue 13's parts of the page (duplicates to review, counts that
// say what they count, reported series, means), kept apart from rules.js so the
// browser tests can check each one on its own (tests/test_page_review.py).

/** The means vocabulary (domain/values.py `Means`), as a person reads it. */
export const MEANS = {
  drone: "drone",
  air_strike: "air strike",
  missile: "missile",
  rocket: "rocket",
  artillery: "artillery",
  mortar: "mortar",
  ied: "IED",
  suicide_bomb: "suicide bomb",
  grenade: "grenade",
  small_arms: "small arms",
  armed_clash: "armed clash",
  chemical: "chemical weapon",
};

export const meansLabel = (value) => MEANS[value] || value;

const GROUPS = { civilians: "civilians", combatants: "combatants", unknown: "status unknown" };

/** Whose dead or wounded a count counts: a group, an actor's name, or nothing said. */
export function whoseText(whose) {
  if (!whose) return "";
  return GROUPS[whose] || whose;
}

/** What every source allows, in words: "85 or more", "between 3 and 5", "exactly 3". */
export function boundsText(bounds) {
  if (!bounds) return "";
  const { low, high } = bounds;
  if (high === null || high === undefined) return `${low} or more`;
  if (low === high) return `exactly ${low}`;
  if (!low) return `at most ${high}`;
  return `between ${low} and ${high}`;
}

/**
 * A merged count, said honestly: its qualifier, whose it counts, and for a
 * `disputed` figure that the sources cannot all be right (never one number alone).
 */
export function countFigure(count) {
  const whose = whoseText(count.whose);
  const what = whose ? `${count.counted} (${whose})` : count.counted;
  switch (count.qualifier) {
    case "exact":
      return `${count.value} ${what}`;
    case "at_least":
      return `at least ${count.value} ${what}`;
    case "at_most":
      return `at most ${count.value} ${what}`;
    case "about":
      return `about ${count.value} ${what}`;
    case "range":
      return count.bounds && count.bounds.high !== null && count.bounds.high !== undefined
        ? `${count.bounds.low}–${count.bounds.high} ${what}`
        : `${count.low}–${count.high} ${what}`;
    case "disputed":
      return count.low === count.high
        ? `disputed: ${what}, sources cannot all be right`
        : `disputed: ${count.low} to ${count.high} ${what}, sources cannot all be right`;
    default:
      return `${count.value} ${what}`;
  }
}

/** One source's figure: its value as stated, summed from parts when it gave several. */
export function sourceFigure(source) {
  const prefix = { at_least: "at least ", at_most: "at most ", about: "about " }[source.qualifier] || "";
  const stated = source.low !== null && source.low !== undefined || source.high !== null && source.high !== undefined
    ? ` (${source.low ?? "?"}–${source.high ?? "?"})`
    : "";
  const parts = source.parts?.length ? ` = ${source.parts.map((p) => p.value).join(" + ")}` : "";
  return `${prefix}${source.value}${stated}${parts}`;
}

/** Monday of an ISO day's week (the tally chart's buckets), as an ISO day. */
export function mondayOf(day) {
  const d = new Date(`${day}T00:00:00Z`);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(d.getTime() - back * 86_400_000).toISOString().slice(0, 10);
}

/**
 * A source's reported figures on the chart's weeks, as a step: from the week of
 * its first point, each week carries the last figure the source had given by
 * then (the highest, if it gave several that week); null before its first.
 */
export function reportedSteps(points, weeks) {
  const byWeek = new Map();
  for (const p of points) {
    const week = mondayOf(p.day);
    byWeek.set(week, Math.max(byWeek.get(week) ?? -Infinity, p.value));
  }
  let last = null;
  return weeks.map((week) => {
    if (byWeek.has(week)) last = byWeek.get(week);
    return last;
  });
}

/** A source of a reported series, as the legend names it. */
export function seriesName(series) {
  return series.speaker ? `${series.outlet} (quoting ${series.speaker})` : series.outlet;
}

/**
 * Which link decisions make the two incidents of a candidate one: the reports of
 * the smaller one (fewer active reports; on a tie, the second) each join the other.
 */
export function linkPlan(pair, entries) {
  const [first, second] = pair.map((key) => entries.find((e) => e.incident === key));
  const reportsOf = (key, entry) =>
    entry ? entry.sources.map((s) => s.report) : key.startsWith("report:") ? [key.slice(7)] : [];
  const a = reportsOf(pair[0], first);
  const b = reportsOf(pair[1], second);
  const [into, moving] = a.length < b.length ? [pair[1], a] : [pair[0], b];
  return moving.map((report) => ({ report, incident: into }));
}
