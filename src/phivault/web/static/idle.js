// Idle logoff that hides PHI (AUTH-6). The server ends an idle session on its own; this makes
// the screen follow: a warning one minute before the idle timeout, then the page's content is
// removed from the DOM and replaced by a sign-in prompt. It needs no network, so it works with
// the network down. Pages are served with Cache-Control: no-store, and a page restored from
// the back/forward cache is reloaded, so the back button shows no PHI either.
//
// Typing, clicking or scrolling is activity: it tells the server (at most every 20 seconds),
// so a person filling in a long form is never signed out under their hands and loses nothing
// they typed. The server's answer carries the current idle timeout, so a timeout the agency
// lowered applies here too. The warning never takes the keyboard focus from a form field.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!idle) { return; }
  var PING_EVERY = 20000;
  var warnTimer = null;
  var endTimer = null;
  var lastPing = Date.now();  // the page itself was a request
  var pinging = false;
  var ended = false;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function hideWarning() {
    var old = document.getElementById("idle-warning");
    if (old) { old.remove(); }
  }

  // Tell the server the person is here; re-arm from its answer (or end, if it already ended
  // the session). Offline, nothing changes: the local timers keep running as the server's do.
  function keepAlive() {
    if (pinging || ended) { return; }
    pinging = true;
    lastPing = Date.now();
    fetch("/api/v1/auth/session", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { end(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (session) {
        if (!session) { return; }
        var seconds = parseInt(session.idle_timeout_seconds, 10);
        if (seconds > 0) { idle = seconds; }
        hideWarning();
        arm();
      })
      .catch(function () { return null; })
      .then(function () { pinging = false; });
  }

  function activity() {
    if (!ended && Date.now() - lastPing >= PING_EVERY) { keepAlive(); }
  }

  function banner() {
    hideWarning();
    // A live region, not a dialog: it is announced, and whoever is typing keeps the focus.
    var box = el("div", { id: "idle-warning", role: "alert", "aria-live": "assertive" });
    box.appendChild(el("p", {}, "You will be signed out in one minute because of inactivity. " +
      "Keep working, or choose Stay signed in."));
    var stay = el("button", { type: "button", id: "stay-signed-in" }, "Stay signed in");
    stay.addEventListener("click", function () { lastPing = 0; keepAlive(); });
    box.appendChild(stay);
    body.appendChild(box);
  }

  function end() {
    ended = true;
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    var main = document.getElementById("main");
    var screen = el("section", { id: "signed-out" });
    screen.appendChild(el("h1", {}, "Signed out"));
    screen.appendChild(el("p", {}, "You were signed out after a period of inactivity. " +
      "The page's content has been removed from this screen."));
    var link = el("a", { href: "/login", class: "button" }, "Sign in again");
    screen.appendChild(link);
    if (main) { main.replaceChildren(screen); }
    var top = document.querySelector("header.top");
    if (top) { top.replaceChildren(el("span", { class: "brand" }, "phivault")); }
    var agency = document.querySelector("nav.agency");
    if (agency) { agency.remove(); }
    hideWarning();
    document.title = "Signed out · phivault";
    link.focus();
  }

  function arm() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(banner, Math.max(idle - 60, 0) * 1000);
    endTimer = setTimeout(end, idle * 1000);
  }

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
  ["keydown", "input", "pointerdown", "wheel", "touchstart"].forEach(function (name) {
    document.addEventListener(name, activity, { capture: true, passive: true });
  });
  document.body.addEventListener("htmx:afterRequest", function () {
    lastPing = Date.now();
    arm();
  });
  arm();
}());

// The break-glass banner counts down to the end of emergency access.
(function () {
  "use strict";
  var banner = document.getElementById("break-glass-banner");
  var out = document.getElementById("break-glass-countdown");
  if (!banner || !out) { return; }
  // Counted from the server's figure: the browser's clock may not match the server's.
  var ends = Date.now() + 1000 * parseInt(banner.getAttribute("data-seconds-left") || "0", 10);
  function tick() {
    var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    out.textContent = Math.floor(left / 60) + " min " + (left % 60) + " s";
    if (left > 0) { setTimeout(tick, 1000); } else { window.location.reload(); }
  }
  tick();
}());
