/* Progressive enhancement only: every page works without this file.
 * - [data-autosubmit] selects submit their form on change.
 * - [data-refresh] containers re-fetch their HTML every N seconds while the tab
 *   is visible, and swap it in place (no full reload, focus and scroll kept).
 * - .copyable inputs select their text on focus.
 * No inline script anywhere: the Content-Security-Policy forbids it.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el.classList && el.classList.contains("copyable")) el.select();
  });

  function startRefresh(box) {
    var url = box.getAttribute("data-refresh");
    var seconds = parseInt(box.getAttribute("data-refresh-seconds") || "15", 10);
    var busy = false;
    function tick() {
      if (busy || document.hidden) return;
      // Do not replace rows under the user's keyboard focus.
      if (box.contains(document.activeElement) && document.activeElement !== box) return;
      busy = true;
      box.setAttribute("aria-busy", "true");
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok || response.redirected) throw new Error("refresh failed");
          return response.text();
        })
        .then(function (html) {
          box.innerHTML = html;
          box.setAttribute("data-refreshed", String(Date.now()));
        })
        .catch(function () { /* keep the last good content; try again later */ })
        .then(function () { busy = false; box.setAttribute("aria-busy", "false"); });
    }
    setInterval(tick, Math.max(seconds, 2) * 1000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
  }

  function init() {
    document.querySelectorAll("[data-refresh]").forEach(startRefresh);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
