// The map beside the timeline: incidents drawn at their places, offline.
// Leaflet (global `L`) draws; the base layer is Natural Earth's country outlines
// (world-atlas TopoJSON, turned into GeoJSON by topojson-client, global
// `topojson`), shipped with the service: there is no tile server.
// What to draw is decided by mapContent() in rules.js; this module only draws it.
import { mapContent, plural } from "./rules.js";

const OUTLINES = "/static/vendor/world-atlas/countries-50m.json";
const START = [[28, 33], [38, 47]]; // Jordan, Iraq and Syria, until there are marks
const SVG = "http://www.w3.org/2000/svg";

const levelColour = (level) => {
  const name = level === null || level === undefined ? "--lvl-r" : `--lvl-${level}`;
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#9ca3af";
};

export class IncidentMap {
  /** `open(key)` is called when a mark is clicked; `describe(key)` names an incident. */
  constructor(element, { open, describe }) {
    this.element = element;
    this.open = open;
    this.describe = describe;
    this.renderer = L.svg({ padding: 0.5 });
    this.map = L.map(element, {
      renderer: this.renderer,
      zoomSnap: 0.5,
      minZoom: 2,
      maxZoom: 9,
      worldCopyJump: true,
      attributionControl: true,
    });
    this.map.attributionControl.setPrefix("Leaflet");
    this.map.attributionControl.addAttribution("Country outlines: Natural Earth (public domain)");
    this.map.fitBounds(START);
    this.layer = L.layerGroup().addTo(this.map);
    this.fitted = false;
    this.outlines = this.loadOutlines();
  }

  async loadOutlines() {
    try {
      const answer = await fetch(OUTLINES);
      const topology = await answer.json();
      const countries = topojson.feature(topology, topology.objects.countries);
      L.geoJSON(countries, {
        interactive: false,
        style: { color: "#9aa5b4", weight: 0.8, fillColor: "#f8fafc", fillOpacity: 1 },
      }).addTo(this.map).bringToBack();
      this.element.dataset.outlines = String(countries.features.length);
    } catch {
      this.element.dataset.outlines = "0"; // the marks still stand on their coordinates
    }
  }

  /** Draw `entries` that meet the timeline's `window`; `selected` is the open incident. */
  draw(entries, { window = null, selected = "" } = {}) {
    const content = mapContent(entries, window);
    this.layer.clearLayers();
    for (const link of content.links) this.layer.addLayer(this.arrow(link));
    const chosen = [];
    // Widest first, so a point is never hidden under a disc.
    const marks = [...content.marks].sort((a, b) => a.order - b.order);
    const named = new Set(); // one name label per spot
    for (const mark of marks) {
      const layer = this.mark(mark, mark.incident === selected);
      const spot = `${mark.place.name} ${mark.place.latitude} ${mark.place.longitude}`;
      if (!named.has(spot)) {
        named.add(spot);
        // A small mark's name beside it; a wide disc's at its foot, clear of the marks inside it.
        const beside = !mark.metres;
        layer.bindTooltip(escape(mark.place.name), {
          permanent: true, direction: beside ? "right" : "bottom", className: "place-label", offset: beside ? [mark.pixels, 0] : [0, 4],
        });
      }
      this.layer.addLayer(layer);
      const path = layer.getElement();
      Object.assign(path.dataset, { incident: mark.incident, precision: mark.precision, place: mark.place.name });
      const title = document.createElementNS(SVG, "title"); // the browser's own hover text
      title.textContent = `${mark.place.name} (${mark.precision}) · ${this.describe(mark.incident)}`;
      path.append(title);
      if (mark.incident === selected) chosen.push(layer);
    }
    for (const layer of chosen) layer.bringToFront();
    this.markArrowHeads();
    this.say(content);
    if (!this.fitted && content.marks.length) {
      this.fitted = true;
      this.map.fitBounds(L.latLngBounds(content.marks.map((m) => [m.place.latitude, m.place.longitude])).pad(0.5), { maxZoom: 5.5 });
    }
    if (chosen.length) {
      const bounds = L.latLngBounds(chosen.map((l) => l.getLatLng()));
      if (!this.map.getBounds().contains(bounds)) this.map.fitBounds(bounds.pad(0.8), { maxZoom: 6 });
    }
    return content;
  }

  mark(mark, selected) {
    const colour = levelColour(mark.level);
    const where = [mark.place.latitude, mark.place.longitude];
    const style = {
      color: selected ? "#2563eb" : colour,
      weight: selected ? 3 : mark.shape === "point" ? 1.5 : 1,
      fillColor: colour,
      fillOpacity: mark.fill,
      opacity: selected ? 1 : 0.8,
      className: `map-mark ${mark.shape} precision-${mark.precision}${selected ? " selected" : ""}`,
    };
    const layer = mark.metres
      ? L.circle(where, { ...style, radius: mark.metres })
      : L.circleMarker(where, { ...style, radius: mark.pixels });
    layer.on("click", () => this.open(mark.incident));
    return layer;
  }

  arrow(link) {
    const line = L.polyline(
      [[link.start.latitude, link.start.longitude], [link.end.latitude, link.end.longitude]],
      {
        color: link.deed ? "#1f2937" : "#a3acb9",
        weight: 2,
        dashArray: link.deed ? null : "6 5",
        interactive: false,
        className: `map-arrow ${link.deed ? "deed" : "words"}`,
      },
    );
    line.link = link;
    return line;
  }

  /** Leaflet has no arrowheads: an SVG marker, defined once, ends each link's path. */
  markArrowHeads() {
    const svg = this.renderer._container; // the one SVG every vector layer is drawn in
    if (!svg) return;
    if (!svg.querySelector("#map-arrowhead")) {
      const defs = document.createElementNS(SVG, "defs");
      for (const [id, colour] of [["map-arrowhead", "#1f2937"], ["map-arrowhead-words", "#a3acb9"]]) {
        const marker = document.createElementNS(SVG, "marker");
        for (const [k, v] of Object.entries({ id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" })) marker.setAttribute(k, v);
        const head = document.createElementNS(SVG, "path");
        head.setAttribute("d", "M 0 0 L 10 5 L 0 10 z");
        head.setAttribute("fill", colour);
        marker.append(head);
        defs.append(marker);
      }
      svg.prepend(defs);
    }
    this.layer.eachLayer((layer) => {
      if (!layer.link) return;
      const path = layer.getElement();
      path.setAttribute("marker-end", `url(#${layer.link.deed ? "map-arrowhead" : "map-arrowhead-words"})`);
      path.dataset.from = layer.link.from;
      path.dataset.to = layer.link.to;
    });
  }

  say(content) {
    const count = document.getElementById("map-count");
    const parts = [
      `${plural(content.located, "incident")} on the map`,
      `${plural(content.unlocated, "incident")} without a located place`,
    ];
    if (content.outside) parts.push(`${content.outside} outside the timeline's time window`);
    count.textContent = parts.join(" · ");
    this.element.dataset.located = String(content.located);
    this.element.dataset.unlocated = String(content.unlocated);
    this.element.dataset.outside = String(content.outside);
  }

  /** After the box changed size (the page's layout moved). */
  resize() {
    this.map.invalidateSize();
  }
}

const escape = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
