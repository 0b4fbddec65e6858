/* dlbook: fit wide display equations to the column.
 *
 * MathJax 3 does not break display equations over lines. The long ones are
 * broken by hand in the chapters; on a narrow screen an equation that is
 * still wider than the column is scaled down to fit (not below 55%), and only
 * what is still too wide scrolls inside its own box (dlbook.css), never the
 * page. An equation number that would overlap its equation moves below it.
 */
(function () {
  "use strict";
  var MIN_SCALE = 0.55;

  function fit() {
    var boxes = document.querySelectorAll("div.math");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var eq = box.querySelector('mjx-container[display="true"]');
      if (!eq) continue;
      eq.style.fontSize = "";
      box.classList.remove("dlbook-eqno-below");
      var math = eq.querySelector("mjx-math") || eq;
      var eqno = box.querySelector(":scope > .eqno");
      var room = box.clientWidth;
      var numberWidth = eqno ? eqno.getBoundingClientRect().width : 0;
      var width = math.getBoundingClientRect().width;
      if (eqno && width + 2 * numberWidth + 8 > room) {
        // centred equations need the number's width on both sides: put the number below
        box.classList.add("dlbook-eqno-below");
      }
      if (width > room) {
        var scale = Math.max(MIN_SCALE, room / width * 0.99);
        eq.style.fontSize = (100 * scale).toFixed(1) + "%";
      }
    }
  }

  var tries = 0;
  function whenTypeset() {
    if (!document.querySelector("div.math")) return;
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(fit);
    } else if (tries++ < 200) {
      setTimeout(whenTypeset, 50);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenTypeset);
  } else {
    whenTypeset();
  }
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(fit, 150);
  });
})();

/* Search excerpts: Sphinx fetches each result page to quote it, which a
 * browser refuses for pages opened from disk (file://). There the results
 * are listed without excerpts, and without console errors; served over
 * http (python -m http.server -d docs/_build/html) they have excerpts.
 */
(function () {
  "use strict";
  if (window.location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
    DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
  }
})();
