// The review page: label the selected pit with the buttons or S / F, move with J / K or the arrows.
"use strict";
(function () {
  const needToken = document.body.dataset.tokenRequired === "yes";
  const operator = document.getElementById("operator");
  const token = document.getElementById("token");
  const status = document.getElementById("status");
  operator.value = localStorage.getItem("spillguard.operator") || "";
  operator.addEventListener("change", () => localStorage.setItem("spillguard.operator", operator.value.trim()));
  if (token) token.value = sessionStorage.getItem("spillguard.token") || "";
  if (token) token.addEventListener("change", () => sessionStorage.setItem("spillguard.token", token.value));

  const cards = () => Array.from(document.querySelectorAll("article.pit"));
  const selected = () => document.querySelector("article.pit.selected");
  function select(card) {
    cards().forEach((c) => c.classList.remove("selected"));
    if (card) { card.classList.add("selected"); card.scrollIntoView({ block: "nearest" }); }
  }
  function bump(id, delta) {
    const el = document.getElementById(id);
    el.textContent = String(Number(el.textContent) + delta);
  }
  function say(text, bad) {
    status.textContent = text;
    status.style.color = bad ? "#b3261e" : "#2e7d32";
  }

  async function label(card, value) {
    if (!card || card.dataset.busy) return;
    const who = operator.value.trim();
    if (!who) { say("Type your name in 'operator' first.", true); operator.focus(); return; }
    const headers = { "Content-Type": "application/json" };
    if (needToken) headers["Authorization"] = "Bearer " + (token ? token.value : "");
    card.dataset.busy = "1";
    try {
      const res = await fetch("/v1/verdicts/" + card.dataset.id + "/feedback", {
        method: "POST", headers, body: JSON.stringify({ label: value, operator: who }),
      });
      const body = await res.json();
      if (!res.ok) { say("Not saved: " + (body.message || res.status), true); return; }
      const next = card.nextElementSibling || card.previousElementSibling;
      card.remove();
      bump("n-waiting", -1);
      bump(value === "spill" ? "n-confirmed" : "n-false", 1);
      say("Saved: pit " + body.verdict_id + (value === "spill" ? " is a spill" : " is a false alarm") + ".");
      select(next && next.matches("article.pit") ? next : null);
      document.title = document.title.replace(/\(\d+ waiting\)/, "(" + document.getElementById("n-waiting").textContent + " waiting)");
    } catch (err) {
      say("Not saved: " + err, true);
    } finally {
      delete card.dataset.busy;
    }
  }

  // An error map its verdict's model cannot draw (run gone or replaced since the page was made):
  // show the server's reason in place of a broken image.
  async function noErrorMap(img) {
    const fig = img.closest("figure");
    let why = "error map unavailable";
    try {
      const res = await fetch(img.src);
      if (!res.ok) why = (await res.json()).message || why;
    } catch (err) { /* keep the generic text */ }
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = why;
    fig.classList.add("no-errmap");
    fig.replaceChildren(note);
  }
  document.querySelectorAll("img.errmap").forEach((img) => {
    if (img.complete && img.naturalWidth === 0) noErrorMap(img);
    else img.addEventListener("error", () => noErrorMap(img), { once: true });
  });

  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button[data-label]");
    if (btn) { const card = btn.closest("article.pit"); select(card); label(card, btn.dataset.label); return; }
    const card = ev.target.closest("article.pit");
    if (card) select(card);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.target.matches("input, select, textarea") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key.toLowerCase();
    const card = selected();
    if (key === "s") label(card, "spill");
    else if (key === "f") label(card, "no_spill");
    else if (key === "j" || key === "arrowdown") select(card ? card.nextElementSibling || card : cards()[0]);
    else if (key === "k" || key === "arrowup") select(card ? card.previousElementSibling || card : cards()[0]);
    else return;
    ev.preventDefault();
  });
})();
