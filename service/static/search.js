// The page's search box: GET /search as of the page's point in the log, results
// that open their incident. Snippets come with [start, end) offsets, so a
// source's words are put in the page as text, never as markup.

/** A snippet's text as nodes, its marked spans in <mark>. */
export function markedText(text, marks) {
  const nodes = [];
  let at = 0;
  for (const [start, end] of marks) {
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start, end);
    nodes.push(mark);
    at = end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

const FIELDS = { excerpt: "excerpt", summary: "summary", quote: "quote", place: "place", speaker: "speaker", actor: "actor" };

/**
 * Wire the search form. `ask(params)` reads the API (it refuses with the service's
 * message), `common()` gives the page's as_of / reported_by, `open(key)` opens an
 * incident, `label(key)` names one.
 */
export function wireSearch({ ask, common, open, label }) {
  const form = document.querySelector("#search-form");
  const input = document.querySelector("#search-q");
  const status = document.querySelector("#search-status");
  const list = document.querySelector("#search-results");
  const more = document.querySelector("#search-more");
  let next = null;
  let asked = "";

  async function search(q, cursor) {
    status.textContent = cursor ? "Reading more…" : "Searching…";
    try {
      const answer = await ask({ q, limit: 20, ...(cursor ? { cursor } : common()) });
      if (!cursor) list.replaceChildren();
      for (const result of answer.results) list.append(resultItem(result));
      next = answer.next;
      more.hidden = !next;
      const shown = list.children.length;
      status.textContent = shown
        ? `${shown} report${shown === 1 ? "" : "s"} found for “${q}”${next ? " (more below)" : ""}`
        : `No report holds every word of “${q}”.`;
    } catch (error) {
      status.textContent = error.message; // the service says what it did not understand
      list.replaceChildren();
      more.hidden = true;
    }
  }

  function resultItem(result) {
    const item = document.createElement("li");
    item.className = "search-result";
    const link = document.createElement("a");
    link.href = `/?incident=${encodeURIComponent(result.incident)}`;
    link.textContent = label(result.incident);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      open(result.incident);
    });
    const who = [result.source.outlet, result.source.speaker].filter(Boolean).join(" citing ");
    const head = document.createElement("p");
    head.className = "search-head";
    head.append(link, document.createTextNode(` · ${who}${result.retracted ? " · retracted" : ""}`));
    item.append(head);
    for (const snippet of result.snippets) {
      const line = document.createElement("p");
      line.className = "snippet";
      const field = document.createElement("span");
      field.className = "muted";
      field.textContent = `${FIELDS[snippet.field] || snippet.field}: `;
      line.append(field, ...markedText(snippet.text, snippet.marks));
      item.append(line);
    }
    return item;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    asked = input.value.trim();
    if (!asked) {
      status.textContent = "Type a word to search for.";
      return;
    }
    search(asked, null);
  });
  more.addEventListener("click", () => next && search(asked, next));
}
