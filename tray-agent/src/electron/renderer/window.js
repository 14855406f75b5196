// The agent window's script. It asks main what to show, fills the page with textContent (never HTML),
// and sends back one answer. Every text arrives translated. The countdown shown here is cosmetic: main
// owns the real timer. Focus starts on the title (never on a button: a keystroke meant for another
// app must not restart the computer); the buttons stay in view whatever the window's size.
"use strict";
(async () => {
  const api = window.dashfleet;
  const $ = (id) => document.getElementById(id);
  const req = await api.init();
  if (!req) return;
  const root = $("window");
  const primary = $("primary");
  const secondary = $("secondary");
  const show = (id, text) => {
    const el = $(id);
    el.textContent = text;
    el.hidden = !text;
  };
  document.documentElement.lang = req.lang || "en";
  root.dataset.kind = req.kind;
  let answered = false;
  const answer = (a) => {
    if (answered) return;
    answered = true;
    api.answer(a);
  };

  if (req.branding) {
    show("org", req.branding.orgName);
    $("brand").hidden = false;
    if (req.branding.supportText) show("support", req.branding.supportText);
    if (
      typeof req.branding.logoDataUrl === "string" &&
      /^data:image\/(png|jpeg|webp);base64,/.test(req.branding.logoDataUrl)
    ) {
      $("logo").src = req.branding.logoDataUrl;
      $("logo").hidden = false;
    }
  }

  const icons = { info: "i", warning: "!", critical: "!!" };
  let title = "";
  let onEscape = null;

  if (req.kind === "message") {
    title = req.title;
    root.dataset.urgency = req.urgency;
    $("icon").textContent = icons[req.urgency] || "i";
    show("urgency", req.text.urgency);
    show("message", req.message);
    show("hint", req.text.hint);
    primary.textContent = req.text.button;
    const a = req.requireAcknowledgement ? "acknowledged" : "ok";
    primary.addEventListener("click", () => answer(a));
    if (!req.requireAcknowledgement) onEscape = () => answer("ok");
  } else if (req.kind === "confirm") {
    title = req.title;
    show("message", req.message);
    primary.textContent = req.yes;
    secondary.textContent = req.no;
    secondary.hidden = false;
    primary.addEventListener("click", () => answer("yes"));
    secondary.addEventListener("click", () => answer("no"));
    onEscape = () => answer("no");
  } else if (req.kind === "reboot") {
    title = req.text.title;
    root.dataset.stage = req.stage;
    root.dataset.insistence = req.insistence;
    $("icon").textContent = "⟳";
    show("message", req.text.message);
    show("deadline", req.text.deadline);
    show("snoozes-left", req.text.snoozesLeft);
    const counter = $("countdown");
    counter.hidden = false;
    const [before, after] = req.text.countdown.split("{time}");
    const end = Date.now() + req.seconds * 1000;
    let lastAnnounced = null;
    const tick = () => {
      const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      counter.textContent = `${before}${time}${after || ""}`;
      // Screen readers hear the time at each whole minute and in the last 10 seconds, not every tick.
      const step = left > 60 ? Math.ceil(left / 60) * 60 : left > 10 ? 60 : left;
      if (step !== lastAnnounced) {
        lastAnnounced = step;
        $("announce").textContent = counter.textContent;
      }
    };
    tick();
    setInterval(tick, 250);
    primary.textContent = req.text.restartNow;
    primary.addEventListener("click", () => answer("now"));
    if (req.stage === "prompt" && req.snoozeOptions.length > 0) {
      const select = $("snooze-choice");
      for (const o of req.snoozeOptions) {
        const opt = document.createElement("option");
        opt.value = String(o.seconds);
        opt.textContent = o.label;
        select.append(opt);
      }
      $("snooze-label").textContent = req.text.snoozeFor;
      $("snooze-button").textContent = req.text.snooze;
      $("snooze").hidden = false;
      $("snooze-button").addEventListener("click", () => answer({ snooze: Number(select.value) }));
    }
  } else if (req.kind === "setup") {
    title = req.text.title;
    show("message", req.text.message);
    $("server-label").textContent = req.text.server;
    $("token-label").textContent = req.text.token;
    $("setup").hidden = false;
    $("server").value = req.server || "";
    if (req.error) show("error", req.error);
    primary.textContent = req.text.connect;
    const submit = () => {
      if (!$("setup").reportValidity()) return;
      answer({ setup: { server: $("server").value, token: $("token").value } });
    };
    primary.addEventListener("click", submit);
    $("setup").addEventListener("submit", (e) => {
      e.preventDefault();
      submit();
    });
  }
  $("title").textContent = title;
  document.title = title;
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && onEscape) onEscape();
  });
  // A long text scrolls inside the body: make that region reachable by keyboard (arrow keys scroll it).
  const body = $("body");
  if (body.scrollHeight > body.clientHeight) {
    body.tabIndex = 0;
    body.setAttribute("role", "region");
    body.setAttribute("aria-label", title);
  }
  if (req.kind === "setup") $("server").focus();
  else $("title").focus();
})();
