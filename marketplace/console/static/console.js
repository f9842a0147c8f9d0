/* The console's only script, loaded with defer (the CSP allows no inline script).
 * Pages work without it; it adds conveniences only.
 *
 * GAP(#15, industries branch): the industry type-ahead. Once GET /api/v1/industries?q= is merged,
 * enhance every <select data-industry-picker> with a text box that fetches matches (塑料, 注塑,
 * 汽车零部件, pinyin initials) and picks the option of the chosen code. Until then the select is the
 * picker.
 */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
