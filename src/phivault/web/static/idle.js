// Idle logoff that hides PHI (AUTH-6). The server ends an idle session on its own; this makes
// the screen follow: a warning one minute before the tenant's idle timeout, then the page's
// content is removed from the DOM and replaced by a sign-in prompt. It needs no network, so it
// works with the network down. Pages are served with Cache-Control: no-store, and a page
// restored from the back/forward cache is reloaded, so the back button shows no PHI either.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!idle) { return; }
  var warnAt = Math.max(idle - 60, 0) * 1000;
  var warnTimer = null;
  var endTimer = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function banner() {
    var old = document.getElementById("idle-warning");
    if (old) { old.remove(); }
    var box = el("div", { id: "idle-warning", role: "alertdialog", "aria-live": "assertive" });
    box.appendChild(el("p", {}, "You will be signed out in one minute because of inactivity."));
    var stay = el("button", { type: "button", id: "stay-signed-in" }, "Stay signed in");
    stay.addEventListener("click", function () {
      fetch("/api/v1/auth/session", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (r.ok) { box.remove(); arm(); } else { end(); } })
        .catch(end);
    });
    box.appendChild(stay);
    body.appendChild(box);
    stay.focus();
  }

  function end() {
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
    var warn = document.getElementById("idle-warning");
    if (warn) { warn.remove(); }
    document.title = "Signed out · phivault";
    link.focus();
  }

  function arm() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(banner, warnAt);
    endTimer = setTimeout(end, idle * 1000);
  }

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
  document.body.addEventListener("htmx:afterRequest", arm);
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
