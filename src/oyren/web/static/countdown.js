// Keeps the deadline countdown ticking. The page works without it: the server already rendered
// the time left when it made the page. The count follows the server's clock (data-now), not the
// visitor's, which may be wrong or in another time zone; only the seconds elapsed since the page
// loaded are measured here.
(function () {
  "use strict";
  var box = document.querySelector("[data-deadline]");
  if (!box) { return; }
  var left0 = Date.parse(box.getAttribute("data-deadline")) - Date.parse(box.getAttribute("data-now"));
  var loaded = window.performance.now();
  var cells = {
    d: box.querySelector("[data-unit=d]"),
    h: box.querySelector("[data-unit=h]"),
    m: box.querySelector("[data-unit=m]"),
    s: box.querySelector("[data-unit=s]")
  };
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var left = Math.max(0, Math.floor((left0 - (window.performance.now() - loaded)) / 1000));
    cells.d.textContent = String(Math.floor(left / 86400));
    cells.h.textContent = pad(Math.floor(left % 86400 / 3600));
    cells.m.textContent = pad(Math.floor(left % 3600 / 60));
    cells.s.textContent = pad(left % 60);
    if (left > 0) { window.setTimeout(tick, 1000); }
  }
  tick();
}());
