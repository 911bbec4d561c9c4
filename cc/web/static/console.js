/* cc web desktop: the wallboard's full-screen button (the Fullscreen API on the board). */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-fullscreen]");
    if (!btn) { return; }
    var board = document.querySelector(".wallboard");
    if (document.fullscreenElement) { document.exitFullscreen(); }
    else if (board && board.requestFullscreen) { board.requestFullscreen(); }
  });
})();
/* the page knows when its stream is open (window.ccBoardLive; tests wait for it) */
(function () {
  "use strict";
  window.ccBoardLive = false;
  document.addEventListener("htmx:sseOpen", function () { window.ccBoardLive = true; });
  document.addEventListener("htmx:sseError", function () { window.ccBoardLive = false; });
})();
/* QA: "Now" copies the player's position into a comment's time; a comment's time plays the recording from there */
(function () {
  "use strict";
  function clock(s) { s = Math.max(0, Math.floor(s)); var m = Math.floor(s / 60), r = s % 60; return m + ":" + (r < 10 ? "0" : "") + r; }
  document.addEventListener("click", function (e) {
    var player = document.getElementById("player");
    var now = e.target.closest && e.target.closest("[data-now]");
    if (now && player) { document.getElementById(now.dataset.now).value = clock(player.currentTime); return; }
    var seek = e.target.closest && e.target.closest("[data-seek]");
    if (seek && player) { player.currentTime = parseFloat(seek.dataset.seek); player.play().catch(function () {}); }
  });
})();
