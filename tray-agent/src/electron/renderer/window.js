// The agent window's script. It asks main what to show, fills the page with textContent (never HTML),
// and sends back one answer. The reboot countdown shown here is cosmetic: main owns the real timer.
"use strict";
(async () => {
  const api = window.dashfleet;
  const $ = (id) => document.getElementById(id);
  const req = await api.init();
  if (!req) return;
  const primary = $("primary");
  const secondary = $("secondary");
  $("title").textContent = req.kind === "setup" ? "Connect DashFleet Agent" : req.title;
  document.title = $("title").textContent;
  let answered = false;
  const answer = (a) => {
    if (answered) return;
    answered = true;
    api.answer(a);
  };

  if (req.kind === "message") {
    $("message").textContent = req.message;
    primary.textContent = "OK";
    primary.addEventListener("click", () => answer("ok"));
  } else if (req.kind === "confirm") {
    $("message").textContent = req.message;
    primary.textContent = req.yes;
    secondary.textContent = req.no;
    secondary.hidden = false;
    primary.addEventListener("click", () => answer("yes"));
    secondary.addEventListener("click", () => answer("no"));
  } else if (req.kind === "countdown") {
    $("message").textContent = req.message;
    const counter = $("countdown");
    counter.hidden = false;
    const end = Date.now() + req.seconds * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      counter.textContent = `Restarting in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    };
    tick();
    setInterval(tick, 250);
    primary.textContent = "Restart now";
    primary.addEventListener("click", () => answer("now"));
    if (req.postponesLeft > 0) {
      secondary.textContent = `Postpone (${req.postponesLeft} left)`;
      secondary.hidden = false;
      secondary.addEventListener("click", () => answer("postpone"));
    }
  } else if (req.kind === "setup") {
    $("message").textContent = "Enter the server address and the enrollment key your IT team gave you.";
    $("setup").hidden = false;
    $("server").value = req.server || "";
    if (req.error) {
      $("error").textContent = req.error;
      $("error").hidden = false;
    }
    primary.textContent = "Connect";
    primary.addEventListener("click", () => {
      if (!$("setup").reportValidity()) return;
      answer({ setup: { server: $("server").value, token: $("token").value } });
    });
  }
  primary.focus();
})();
