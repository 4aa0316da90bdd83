// The explore page: pins in selects (and in the URL), probabilities of every value given the pins,
// a grid of avatars sampled under the pins, and the most probable styles. Everything comes from the
// JSON API of the same server (/v1/marginals, /v1/sample, /v1/most-probable).
"use strict";
const schema = JSON.parse(document.getElementById("schema").textContent);
const ATTRS = schema.attributes;
const GRID_N = 12, TOP_K = 5;
const form = document.getElementById("pins");
const seedInput = document.getElementById("seed");
let generation = 0;

function fmt(p) {
  if (p === 0) return "0";
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

function buildSelects() {
  const params = new URLSearchParams(location.search);
  ATTRS.forEach((a, i) => {
    const sel = el("select", { id: "pin-" + i, "data-attr": a.name, name: a.name });
    sel.append(el("option", { value: "" }, "any"));
    for (const v of a.values) sel.append(el("option", { value: v }, v));
    const want = params.get(a.name);
    if (want !== null && a.values.includes(want)) sel.value = want;
    sel.addEventListener("change", update);
    form.append(el("label", { htmlFor: sel.id }, a.name, sel));
  });
  const s = parseInt(params.get("seed") || "0", 10);
  seedInput.value = Number.isFinite(s) && s >= 0 ? s : 0;
}

function currentPins() {
  const pins = [];
  for (const sel of form.querySelectorAll("select")) {
    sel.classList.toggle("pinned", sel.value !== "");
    if (sel.value !== "") pins.push([sel.dataset.attr, sel.value]);
  }
  return pins;
}

async function getJSON(url) {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) throw body;
  return body;
}

function styleText(style) {
  return Object.entries(style).map(([a, v]) => a + "=" + v).join(", ");
}

function renderAttrs(m) {
  const box = document.getElementById("attrs");
  box.replaceChildren();
  for (const a of m.attributes) {
    const rows = [...a.values].sort((x, y) => y.probability - x.probability);
    const top = rows.length && rows[0].probability > 0 ? rows[0].probability : 1;  // bars relative to the largest
    const table = el("table");
    for (const v of rows) {
      const tr = el(
        "tr",
        { class: (v.value === a.pinned ? "chosen " : "") + (v.probability === 0 ? "zero" : ""),
          "data-attr": a.attribute, "data-value": v.value, "data-probability": String(v.probability),
          title: "P(" + a.attribute + "=" + v.value + (Object.keys(a.given).length ? " | " + styleText(a.given) : "") + ")" },
        el("td", { class: "v" }, v.value),
        el("td", {}, el("div", { class: "bar", style: "width:" + (100 * v.probability / top).toFixed(2) + "%" })),
        el("td", { class: "num" }, fmt(v.probability)),
      );
      tr.addEventListener("click", () => {
        const sel = form.querySelector('select[data-attr="' + CSS.escape(a.attribute) + '"]');
        sel.value = a.pinned === v.value ? "" : v.value;
        update();
      });
      table.append(tr);
    }
    const head = el("h3", {}, a.attribute);
    if (a.pinned !== null) head.append(" ", el("span", { class: "pinned" }, "pinned: " + a.pinned));
    box.append(el("div", { class: "attr", "data-attr": a.attribute }, head, table));
  }
}

function renderGrid(s) {
  const grid = document.getElementById("grid");
  grid.replaceChildren();
  s.styles.forEach((st, i) => {
    grid.append(el("figure", { class: "card", "data-probability": String(st.probability), title: styleText(st.style) },
      el("img", { src: st.svg_url, alt: "avatar " + (i + 1), loading: "lazy" }),
      el("div", { class: "p" }, "P(· | pins) " + fmt(st.given_probability)),
      el("div", { class: "p0" }, "P(style) " + fmt(st.probability))));
  });
}

function renderTop(t) {
  const top = document.getElementById("top");
  top.replaceChildren();
  for (const st of t.styles) {
    top.append(el("li", { "data-probability": String(st.probability) },
      el("img", { src: st.svg_url, alt: "most probable avatar" }),
      el("div", {}, el("div", {}, "P(style | pins) " + fmt(st.given_probability) + " · P(style) " + fmt(st.probability)),
        el("div", { class: "style" }, styleText(st.style)))));
  }
}

async function update() {
  const gen = ++generation;
  const pins = currentPins();
  const seed = Math.max(0, parseInt(seedInput.value || "0", 10) || 0);
  const q = new URLSearchParams(pins);
  const shown = new URLSearchParams(pins);
  if (seed !== 0) shown.set("seed", String(seed));
  history.replaceState(null, "", shown.toString() ? "?" + shown : location.pathname);
  document.body.dataset.state = "loading";
  const err = document.getElementById("error");
  try {
    const qs = q.toString();
    const [m, s, t] = await Promise.all([
      getJSON("/v1/marginals?" + qs),
      getJSON("/v1/sample?" + qs + "&n=" + GRID_N + "&seed=" + seed),
      getJSON("/v1/most-probable?" + qs + "&k=" + TOP_K),
    ]);
    if (gen !== generation) return;
    err.hidden = true;
    renderAttrs(m);
    renderGrid(s);
    renderTop(t);
    document.getElementById("summary").textContent =
      (pins.length ? "P(pins) = " + fmt(m.pins_probability) + " · " : "No pins · ") +
      m.n_styles.toLocaleString("en") + " styles have positive probability";
    document.body.dataset.pins = qs;
    document.body.dataset.state = "ready";
  } catch (e) {
    if (gen !== generation) return;
    err.textContent = (e && e.message) ? e.message : String(e);
    err.hidden = false;
    for (const id of ["grid", "top", "attrs"]) document.getElementById(id).replaceChildren();
    document.getElementById("summary").textContent = "";
    document.body.dataset.pins = q.toString();
    document.body.dataset.state = "error";
  }
}

document.getElementById("resample").addEventListener("click", () => {
  seedInput.value = (parseInt(seedInput.value || "0", 10) || 0) + 1;
  update();
});
document.getElementById("clear").addEventListener("click", () => {
  for (const sel of form.querySelectorAll("select")) sel.value = "";
  update();
});
seedInput.addEventListener("change", update);
buildSelects();
update();
