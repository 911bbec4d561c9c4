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
