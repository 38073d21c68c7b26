// The facilitator's notes page: autosave that never loses typed text. Progressive enhancement
// only: without this file the page's "Save" button posts every question.
//
// Each keystroke is first kept in localStorage (per link and question, with this device's
// revision counter); the text is sent about a second after typing stops (at the latest every
// few seconds while typing goes on), and again on page load, when the connection returns and
// every 20 s while something is unsaved. The server keeps the highest revision, so a late,
// older request never replaces a newer text. On reload a newer unsaved draft wins over the
// server's text. Also: staff forms marked data-confirm ask before they are sent.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var target = event.target;
    if (target.dataset && target.dataset.confirm && !window.confirm(target.dataset.confirm)) {
      event.preventDefault();
    }
  });

  var form = document.querySelector("form.notes-form[data-autosave]");
  if (!form) { return; }

  var DEBOUNCE_MS = 1000;
  var MAX_WAIT_MS = 5000;
  var RETRY_MS = 20000;
  var active = form.dataset.autosave === "on";
  var prefix = form.dataset.store;
  var max = parseInt(form.dataset.max, 10);
  var nameInput = form.querySelector("input[name=author_name]");
  var deviceInput = form.querySelector("input[name=device]");
  var csrfInput = form.querySelector("input[name=csrf_token]");
  var summary = document.getElementById("notes-summary");
  var numbers = new Intl.NumberFormat(document.documentElement.lang || "fi");
  var msg = form.dataset;

  var storage = (function () {
    try {
      var probe = "__notes_probe";
      window.localStorage.setItem(probe, probe);
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) { return null; }  // private mode or storage off: autosave still works
  })();

  function load(key) {
    if (!storage) { return null; }
    try { return JSON.parse(storage.getItem(key)); } catch (e) { return null; }
  }

  function keep(key, value) {
    if (!storage) { return; }
    try { storage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full */ }
  }

  Array.prototype.forEach.call(document.querySelectorAll(".notes-js-only"), function (el) {
    el.hidden = false;
  });

  // --- one question ------------------------------------------------------------------------

  function Note(area) {
    this.area = area;
    this.key = prefix + ":" + area.dataset.question;
    this.url = area.dataset.saveUrl;
    this.status = document.getElementById(area.id + "-status");
    this.count = document.getElementById(area.id + "-count");
    this.error = document.getElementById(area.id + "-error");
    this.field = area.closest(".field");
    this.revision = parseInt(area.dataset.revision, 10) || 0;
    this.saved = true;
    this.blocked = false;  // refused for good (too long, ended): wait for the next change
    this.sending = false;
    this.again = false;
    this.timer = null;
    this.firstChange = 0;
  }

  Note.prototype.say = function (text) {
    if (this.status && this.status.textContent !== text) { this.status.textContent = text; }
  };

  Note.prototype.problem = function (text) {
    if (!this.error) { return; }
    this.error.textContent = text || "";
    this.error.hidden = !text;
    if (text) { this.area.setAttribute("aria-invalid", "true"); } else { this.area.removeAttribute("aria-invalid"); }
    if (this.field) { this.field.classList.toggle("has-error", Boolean(text)); }
  };

  Note.prototype.counted = function () {
    if (!this.count) { return; }
    this.count.textContent = msg.msgCount
      .replace("%(count)s", numbers.format(this.area.value.length))
      .replace("%(max)s", numbers.format(max));
  };

  Note.prototype.remember = function () {
    keep(this.key, { body: this.area.value, revision: this.revision, saved: this.saved });
  };

  // Typed (or the name changed): a new revision, kept on the device before anything else.
  Note.prototype.changed = function () {
    this.revision += 1;
    this.saved = false;
    this.blocked = false;
    this.remember();
    this.counted();
    if (this.area.value.length > max) {
      this.blocked = true;
      this.problem(msg.msgTooLong);
      this.say(msg.msgKept);
      return;
    }
    this.problem("");
    this.say(msg.msgSaving);
    this.schedule();
  };

  Note.prototype.schedule = function () {
    var self = this;
    var now = Date.now();
    if (!this.firstChange) { this.firstChange = now; }
    window.clearTimeout(this.timer);
    var wait = Math.max(0, Math.min(DEBOUNCE_MS, this.firstChange + MAX_WAIT_MS - now));
    this.timer = window.setTimeout(function () { self.send(); }, wait);
  };

  Note.prototype.unsent = function () {
    this.sending = false;
    this.say(msg.msgUnsaved);
  };

  Note.prototype.send = function (retried) {
    var self = this;
    window.clearTimeout(this.timer);
    this.firstChange = 0;
    if (!active || this.saved || this.blocked) { return Promise.resolve(); }
    if (this.sending) { this.again = true; return Promise.resolve(); }
    if (navigator.onLine === false) { this.unsent(); return Promise.resolve(); }
    var revision = this.revision;
    var body = new URLSearchParams();
    body.set("csrf_token", csrfInput ? csrfInput.value : "");
    body.set("device", deviceInput ? deviceInput.value : "");
    body.set("author_name", nameInput ? nameInput.value : "");
    body.set("body", this.area.value);
    body.set("revision", String(revision));
    this.sending = true;
    this.say(msg.msgSaving);
    return window.fetch(this.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return self.answered(response.status, data, revision, retried);
      });
    }).catch(function () {
      self.unsent();  // no connection: the text stays on the device
    }).then(function () {
      if (self.again) { self.again = false; return self.send(); }
    });
  };

  Note.prototype.answered = function (status, data, revision, retried) {
    var self = this;
    this.sending = false;
    if (status === 200) {
      if (!data.saved && !data.same && data.revision >= this.revision) {
        // This device saved a newer revision elsewhere (another tab): what is on this
        // screen is the text the person sees, so it is sent again as the newest.
        this.revision = data.revision + 1;
        this.remember();
        this.again = true;
        return;
      }
      if (this.revision === revision) {
        this.saved = true;
        this.remember();
        this.say(data.status || "");
      }
      return;
    }
    if (status === 400 && !retried) {
      // Most likely the form's token expired (a long evening): fetch a fresh one and retry.
      return refreshToken().then(function () { return self.send(true); });
    }
    if (status === 422 || status === 409 || status === 404 || status === 410) {
      this.blocked = true;
      this.problem(data.error || msg.msgKept);
      this.say(msg.msgKept);
      if (status !== 422) { active = false; }  // ended or revoked: no point sending more
      return;
    }
    this.unsent();  // 429 or a server error: tried again later
  };

  // --- the page ------------------------------------------------------------------------------

  var tokenPromise = null;
  function refreshToken() {
    if (!tokenPromise) {
      tokenPromise = window.fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var found = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
          if (found && csrfInput) { csrfInput.value = found[1]; }
        })
        .catch(function () { /* offline: the retry says "not saved" */ })
        .then(function () { tokenPromise = null; });
    }
    return tokenPromise;
  }

  var notes = Array.prototype.map.call(
    form.querySelectorAll("textarea[data-question]"),
    function (area) { return new Note(area); }
  );

  notes.forEach(function (note) {
    var draft = load(note.key);
    var serverRevision = note.revision;
    if (draft && !draft.saved && draft.revision > serverRevision) {
      // A newer text than the server has, left unsaved (offline, closed, reloaded): it wins.
      note.area.value = draft.body;
      note.revision = draft.revision;
      note.saved = false;
      note.counted();
      note.say(msg.msgUnsaved);
      if (note.area.value.length > max) { note.blocked = true; note.problem(msg.msgTooLong); }
      if (!active) { note.say(msg.msgKept); }
    } else if (note.area.dataset.serverBody === "other" && note.area.value) {
      // The page shows a sent text the server did not take (an error answer): send it.
      note.revision = Math.max(serverRevision, draft ? draft.revision : 0) + 1;
      note.saved = false;
      note.remember();
    } else {
      note.revision = Math.max(serverRevision, draft ? draft.revision : 0);
      note.saved = true;
      note.remember();
    }
    note.area.addEventListener("input", function () { note.changed(); });
  });

  var nameKey = prefix + ":name";
  if (nameInput) {
    var storedName = load(nameKey);
    if (!nameInput.value && typeof storedName === "string") { nameInput.value = storedName; }
    nameInput.addEventListener("input", function () {
      keep(nameKey, nameInput.value);
      // The name is shown beside each note: resend the notes that have text.
      notes.forEach(function (note) {
        if (note.area.value || note.revision > 0) { note.changed(); }
      });
    });
  }

  function flush() {
    return Promise.all(notes.map(function (note) { return note.send(); }));
  }

  if (active) {
    form.addEventListener("submit", function (event) {
      // Saved in place: a full post while offline would leave the page.
      event.preventDefault();
      notes.forEach(function (note) { note.blocked = note.blocked && note.area.value.length > max; });
      flush().then(function () {
        if (!summary) { return; }
        var unsaved = notes.some(function (note) { return !note.saved; });
        summary.textContent = unsaved ? msg.msgSomeUnsaved : msg.msgAllSaved;
      });
    });
    window.addEventListener("online", flush);
    window.setInterval(function () {
      if (notes.some(function (note) { return !note.saved && !note.sending; })) { flush(); }
    }, RETRY_MS);
    flush();
  }
})();
