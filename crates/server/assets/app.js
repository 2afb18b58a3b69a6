// retrace pages: the two things a page cannot do without a script.
// 1. Upload a file with a progress bar, carrying the session's CSRF token
//    and an idempotency key, and show the server's report.
// 2. Load a receipt file into the text box of the receipt check.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = document.getElementById("upload-file");
      var file = input.files && input.files[0];
      if (!file) { input.focus(); return; }
      var bar = document.getElementById("upload-progress");
      var status = document.getElementById("upload-status");
      var report = document.getElementById("report");
      var key = (self.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.upload);
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.setRequestHeader("Idempotency-Key", key);
      var xlsx = /\.xlsx$/i.test(file.name);
      xhr.setRequestHeader("Content-Type", xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv");
      bar.hidden = false; bar.value = 0;
      status.textContent = status.dataset.sending;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
      });
      xhr.upload.addEventListener("load", function () { bar.value = 100; status.textContent = status.dataset.checking; });
      xhr.addEventListener("load", function () {
        status.textContent = "";
        if (xhr.status === 200 || xhr.status === 422) {
          report.innerHTML = xhr.responseText;
          var result = document.getElementById("report-result");
          if (result) { result.setAttribute("tabindex", "-1"); result.focus(); }
        } else {
          status.textContent = status.dataset.failed + " (HTTP " + xhr.status + ")";
        }
      });
      xhr.addEventListener("error", function () { status.textContent = status.dataset.failed; });
      xhr.send(file);
    });
  }
  document.querySelectorAll("input[type=file][data-fill]").forEach(function (input) {
    input.addEventListener("change", function () {
      var target = document.getElementById(input.dataset.fill);
      var file = input.files && input.files[0];
      if (file && target) { file.text().then(function (text) { target.value = text; }); }
    });
  });
});
