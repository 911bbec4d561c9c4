/* cc web desktop: timers, the incoming-call alert (a short beep made with the Web Audio API), htmx glue. */
(function () {
  "use strict";
  window.ccBeeps = 0;
  var audio = null;

  function unlockAudio() {
    try {
      if (!audio) { audio = new (window.AudioContext || window.webkitAudioContext)(); }
      if (audio.state === "suspended") { audio.resume(); }
    } catch (e) { audio = null; }
  }
  document.addEventListener("click", unlockAudio, true);
  document.addEventListener("keydown", unlockAudio, true);

  function tone(at, freq, length) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + length + 0.02);
  }

  function beep() {
    window.ccBeeps += 1;
    unlockAudio();
    if (!audio) { return; }
    var t = audio.currentTime + 0.01;
    tone(t, 880, 0.18);
    tone(t + 0.25, 1175, 0.18);
  }
  window.ccBeep = beep;

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-elapsed]").forEach(function (el) {
      if (el._t0 === undefined) { el._t0 = now; }
      el.textContent = clock(parseFloat(el.dataset.elapsed) + (now - el._t0) / 1000);
    });
    document.querySelectorAll("[data-left]").forEach(function (el) {
      if (el._t0 === undefined) { el._t0 = now; }
      el.textContent = clock(parseFloat(el.dataset.left) - (now - el._t0) / 1000);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);

  var title = document.title;
  document.addEventListener("sse:offered", function () {
    beep();
    document.body.classList.add("ringing");
    document.title = "\u260E " + title;
  });
  ["sse:bridged", "sse:call_ended"].forEach(function (name) {
    document.addEventListener(name, function () {
      document.body.classList.remove("ringing");
      document.title = title;
    });
  });
  /* the event stream is open: the page is live (tests wait for it); after a reconnect, the state may have
     changed while no event could arrive: fetch it again */
  window.ccLive = false;
  document.addEventListener("htmx:sseOpen", function () {
    if (window.ccLive) { htmx.trigger(document.body, "cc-state"); }
    window.ccLive = true;
  });
  document.addEventListener("htmx:sseError", function () { window.ccLive = false; });
  /* a session that ended answers htmx with 401 and HX-Redirect: htmx follows it */
})();

// Enter in a field marked data-no-enter-submit does not submit its form (the transfer's number field would
// otherwise send a blind transfer before the agent chose between "Transfer now" and "Consult").
document.addEventListener("keydown", function (event) {
  if (event.key === "Enter" && event.target && event.target.matches &&
      event.target.matches("input[data-no-enter-submit]")) {
    event.preventDefault();
  }
});
