// Document upload: the file goes straight to the API as the request body, streamed and
// encrypted as it arrives — no multipart temp file on the server (RET-3). The file name and
// purpose travel in headers, never in the URL.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("upload-file");
    var status = document.getElementById("upload-status");
    var file = input.files && input.files[0];
    if (!file) { status.textContent = "Choose a file first."; return; }
    var kind = document.getElementById("upload-kind").value;
    status.textContent = "Uploading…";
    fetch(form.getAttribute("data-url") + "?kind=" + encodeURIComponent(kind), {
      method: "POST",
      credentials: "same-origin",
      body: file,
      headers: {
        "Content-Type": file.type || "application/octet-stream",
        "X-Filename": encodeURIComponent(file.name),
        "X-CSRF-Token": form.getAttribute("data-csrf"),
        "X-Purpose-Of-Use": form.getAttribute("data-purpose")
      }
    }).then(function (response) {
      if (response.ok) { window.location.reload(); return null; }
      return response.json().then(function (problem) {
        status.textContent = "Not uploaded: " + (problem.detail || response.statusText);
      });
    }).catch(function () { status.textContent = "Not uploaded: the network is unavailable."; });
  });
}());
