/* The team interface's small script (no build step). Everything works without it except
   the resumable upload's progress; it adds: seeking the player from keyframes and time-coded
   comments, "current time" for comments, and the tus upload with live progress. */
(function () {
  "use strict";

  function player() { return document.getElementById("player"); }

  function fmt(seconds) {
    var s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    var ss = ("0" + (s % 60)).slice(-2);
    return h ? h + ":" + ("0" + m).slice(-2) + ":" + ss : m + ":" + ss;
  }

  // Keyframes and time codes seek the player.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-seek]");
    if (!el) return;
    var video = player();
    if (!video) return;
    ev.preventDefault();
    var t = parseFloat(el.getAttribute("data-seek"));
    var seek = function () { video.currentTime = t; video.focus(); };
    if (video.readyState >= 1) seek();
    else { video.preload = "metadata"; video.addEventListener("loadedmetadata", seek, { once: true }); video.load(); }
  });

  // "Now" fills the comment's time code from the player.
  document.querySelectorAll("[data-fill-time]").forEach(function (btn) {
    if (!player()) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      document.getElementById(btn.getAttribute("data-fill-time")).value = fmt(player().currentTime);
    });
  });

  // Focus a refusal so keyboard and screen-reader users hear it.
  var error = document.getElementById("error");
  if (error) error.focus();

  // --- resumable upload (tus 1.0: creation + core) -------------------------------------
  var form = document.getElementById("upload-form");
  if (!form) return;
  var CHUNK = 8 * 1024 * 1024;
  var code = form.dataset.code, csrf = form.dataset.csrf;
  var bar = document.getElementById("upload-bar"), status = document.getElementById("upload-status");

  function b64(s) { return btoa(unescape(encodeURIComponent(s))); }
  function human(n) {
    var u = ["B", "KB", "MB", "GB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + u[i];
  }
  function request(method, url, headers, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (onProgress) xhr.upload.onprogress = onProgress;
      xhr.onload = function () { resolve(xhr); };
      xhr.onerror = function () { reject(new Error("network error")); };
      xhr.send(body);
    });
  }
  function problem(xhr) {
    try { return JSON.parse(xhr.responseText).detail; } catch (e) { return xhr.status + " " + xhr.statusText; }
  }

  async function upload(file) {
    var key = "tus:" + code + ":" + file.name + ":" + file.size + ":" + file.lastModified;
    var url = localStorage.getItem(key), offset = 0;
    if (url) {  // resume: ask the server how much it has
      var head = await request("HEAD", url, {}, null);
      if (head.status === 200) { offset = parseInt(head.getResponseHeader("Upload-Offset"), 10); status.textContent = status.dataset.resuming; }
      else { url = null; }
    }
    if (!url) {
      var created = await request("POST", "/api/v1/uploads", {
        "Upload-Length": String(file.size),
        "Upload-Metadata": "clip " + b64(code) + ",filename " + b64(file.name) + ",filetype " + b64(file.type || "application/octet-stream")
      }, null);
      if (created.status !== 201) throw new Error(problem(created));
      url = created.getResponseHeader("Location");
      localStorage.setItem(key, url);
    }
    var started = Date.now(), startOffset = offset;
    while (offset < file.size) {
      var end = Math.min(offset + CHUNK, file.size), base = offset;
      var xhr = await request("PATCH", url, {
        "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream"
      }, file.slice(offset, end), function (ev) { show(base + ev.loaded, file.size, started, startOffset); });
      if (xhr.status !== 204) throw new Error(problem(xhr));
      offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
      show(offset, file.size, started, startOffset);
    }
    localStorage.removeItem(key);
  }

  function show(sent, total, started, startOffset) {
    var pct = total ? Math.floor(sent * 100 / total) : 100;
    var elapsed = (Date.now() - started) / 1000, rate = (sent - startOffset) / Math.max(elapsed, 0.001);
    var left = rate > 0 ? Math.ceil((total - sent) / rate) : 0;
    bar.value = pct;
    status.textContent = status.dataset.template.replace("{sent}", human(sent)).replace("{total}", human(total))
      .replace("{percent}", pct).replace("{left}", fmt(left));
  }

  async function watchProcessing() {
    var box = document.getElementById("processing"), pbar = document.getElementById("processing-bar");
    var pstatus = document.getElementById("processing-status");
    box.hidden = false;
    for (;;) {
      var r = await fetch("/api/v1/clips/" + code + "/processing", { credentials: "same-origin" });
      if (r.ok) {
        var p = await r.json();
        pbar.value = p.progress;
        pstatus.textContent = (p.step || "") + " " + p.progress + "%";
        if (p.state === "done") { pstatus.textContent = pstatus.dataset.done; break; }
        if (p.state === "failed") { pstatus.textContent = pstatus.dataset.failed + " " + (p.last_error || ""); return; }
      }
      await new Promise(function (ok) { setTimeout(ok, 700); });
    }
    var k = await fetch("/api/v1/clips/" + code + "/keyframes", { credentials: "same-origin" });
    if (k.ok) {
      var list = document.getElementById("new-keyframes"), data = await k.json();
      data.items.forEach(function (kf) {
        var li = document.createElement("li"), img = document.createElement("img");
        img.src = kf.thumbnail_url; img.alt = fmt(kf.timestamp); img.width = 160;
        li.appendChild(img); li.appendChild(document.createTextNode(" " + fmt(kf.timestamp)));
        list.appendChild(li);
      });
      list.hidden = false;
    }
    document.getElementById("after-upload").hidden = false;
  }

  form.addEventListener("submit", async function (ev) {
    var file = document.getElementById("file").files[0];
    if (!file || !window.fetch) return;  // let the plain form upload happen
    ev.preventDefault();
    form.querySelector("button").disabled = true;
    document.getElementById("upload-progress").hidden = false;
    try {
      await upload(file);
      status.textContent = status.dataset.done;
      bar.value = 100;
      await watchProcessing();
    } catch (e) {
      status.textContent = status.dataset.error + " " + e.message;
      form.querySelector("button").disabled = false;
    }
  });
})();
