// Passkeys (WebAuthn): register one, or use one as the second factor.
//
// A <button data-webauthn="register|authenticate"> starts a ceremony against the JSON API:
// fetch the options (the server keeps the challenge on the session), convert their base64url
// fields to ArrayBuffers, ask the browser's authenticator, post the result back. The page
// never sees a private key. Data attributes configure each button:
//   data-csrf          the session's CSRF token (sent as X-CSRF-Token)
//   data-alert         id of the role="alert" element that shows a readable error
//   data-label         (register) id of the input naming the new passkey
//   data-remember      (authenticate) id of the "remember this device" checkbox
//   data-next          where to go on success
//   data-then-submit   id of a form to submit on success instead (e.g. for recovery codes)
//   data-reauth        where to confirm one's identity when the server asks for it
// Served under `script-src 'self'`: no inline script, no inline handler, no CDN.
(function () {
  "use strict";

  var API = "/api/v1/auth/passkeys/";

  function toBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) { binary += String.fromCharCode(bytes[i]); }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBuffer(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBuffer(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function registrationJSON(credential) {
    var response = credential.response;
    var body = {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject)
    };
    if (typeof response.getTransports === "function") { body.transports = response.getTransports(); }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: body,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults()
    };
  }

  function assertionJSON(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : null
      },
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults()
    };
  }

  // A refusal from the server: its status and RFC 9457 problem type (no stack, no detail dump).
  function ServerRefusal(status, problem) {
    this.status = status;
    this.slug = String((problem && problem.type) || "").split("/").pop();
    this.detail = (problem && typeof problem.detail === "string") ? problem.detail : "";
  }

  function post(path, csrf, body) {
    return fetch(API + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) { throw new ServerRefusal(response.status, data); }
        return data;
      });
    });
  }

  function sentence(text) {
    var trimmed = text.trim();
    if (!trimmed) { return ""; }
    trimmed = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(trimmed) ? trimmed : trimmed + ".";
  }

  function explain(error, kind) {
    if (error instanceof ServerRefusal) {
      if (error.slug === "csrf-failed") { return "This page has expired. Reload it and try again."; }
      if (error.status === 401) { return "Your session has ended. Sign in again."; }
      if (error.status === 429) { return sentence(error.detail) || "Too many failed attempts. Try again later."; }
      if (error.slug === "reauthentication-required") { return "Confirm it is you first, then try again."; }
      if (error.status === 422) {
        return kind === "register"
          ? "The passkey could not be registered. Try again."
          : "Your passkey could not be verified. Try again, or use a code instead.";
      }
      if (error.status === 409 || error.status === 403) {
        return sentence(error.detail) || "That is not possible right now.";
      }
      return "The server could not complete the request. Try again in a moment.";
    }
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "AbortError") {
      return kind === "register"
        ? "The passkey request was cancelled or timed out. No passkey was added; you can try again."
        : "The passkey request was cancelled or timed out. You are not signed in yet: try again, or use a code.";
    }
    if (name === "InvalidStateError") { return "This device already holds a passkey for your account."; }
    if (name === "SecurityError") { return "Passkeys cannot be used at this address."; }
    if (name === "NotSupportedError") { return "This device does not support the kind of passkey needed here."; }
    if (name === "TypeError") { return "The server could not be reached. Check your connection and try again."; }
    return "The passkey could not be used. Try again, or use another way.";
  }

  function supported() {
    return Boolean(window.PublicKeyCredential && navigator.credentials &&
      typeof navigator.credentials.create === "function");
  }

  function ceremony(button) {
    var kind = button.getAttribute("data-webauthn");
    var csrf = button.getAttribute("data-csrf") || "";
    if (kind === "register") {
      var labelInput = document.getElementById(button.getAttribute("data-label") || "");
      var label = (labelInput && labelInput.value.trim()) || "passkey";
      return post("register/options", csrf).then(function (options) {
        return navigator.credentials.create({ publicKey: creationOptions(options) });
      }).then(function (credential) {
        return post("register/verify", csrf, { credential: registrationJSON(credential), label: label });
      });
    }
    var remember = document.getElementById(button.getAttribute("data-remember") || "");
    return post("authenticate/options", csrf).then(function (options) {
      return navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (credential) {
      return post("authenticate/verify", csrf, {
        credential: assertionJSON(credential),
        remember_device: Boolean(remember && remember.checked)
      });
    });
  }

  function succeed(button) {
    var form = document.getElementById(button.getAttribute("data-then-submit") || "");
    if (form) { form.submit(); return; }
    window.location.assign(button.getAttribute("data-next") || "/");
  }

  function start(button) {
    var alert = document.getElementById(button.getAttribute("data-alert") || "");
    var kind = button.getAttribute("data-webauthn");
    function show(message) {
      if (!alert) { return; }
      alert.textContent = message;
      alert.hidden = false;
    }
    if (alert) { alert.hidden = true; alert.textContent = ""; }
    if (!supported()) {
      show("This browser cannot use passkeys. Use a code from your authenticator app instead.");
      return;
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    ceremony(button).then(function () {
      succeed(button);
    }).catch(function (error) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      var reauth = button.getAttribute("data-reauth");
      if (reauth && error instanceof ServerRefusal && error.slug === "reauthentication-required") {
        window.location.assign(reauth);
        return;
      }
      show(explain(error, kind));
      button.focus();
    });
  }

  function wire() {
    var buttons = document.querySelectorAll("button[data-webauthn]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () { start(button); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
}());
