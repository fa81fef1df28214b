/* Progressive enhancement for forms whose inputs depend on a kind (the check
 * kind of a monitor, the channel kind): without this file every kind's
 * section shows, labelled by kind. With it, a form's select[data-kind-select]
 * decides:
 * - elements with data-kind="a b" inside the form show only while the
 *   select's value is one of those kinds;
 * - inputs with data-kind-text='{"kind": ["label", "help"]}' take the label
 *   and help text of the chosen kind (their defaults come back for a kind
 *   that names none).
 * Loaded with <script src>: the Content-Security-Policy forbids inline script.
 */
(function () {
  "use strict";

  function textFor(input, kind) {
    var texts = {};
    try { texts = JSON.parse(input.getAttribute("data-kind-text") || "{}"); } catch (e) { /* keep defaults */ }
    return texts[kind] || null;
  }

  function relabel(input, kind) {
    var label = input.form.querySelector('label[for="' + input.id + '"]');
    var help = document.getElementById(input.id + "_helptext");
    [[label, 0], [help, 1]].forEach(function (pair) {
      var el = pair[0];
      if (!el) return;
      if (!el.hasAttribute("data-default-text")) el.setAttribute("data-default-text", el.textContent);
      var text = textFor(input, kind);
      el.textContent = (text && text[pair[1]]) || el.getAttribute("data-default-text");
    });
  }

  function follow(select) {
    var form = select.form;
    if (!form) return;
    function apply() {
      var kind = select.value;
      form.querySelectorAll("[data-kind]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kind").split(/\s+/).indexOf(kind) === -1;
      });
      form.querySelectorAll("[data-kind-text]").forEach(function (input) { relabel(input, kind); });
    }
    select.addEventListener("change", apply);
    apply();
  }

  function init() {
    document.querySelectorAll("select[data-kind-select]").forEach(follow);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
