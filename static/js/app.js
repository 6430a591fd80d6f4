// The few behaviours the screens need, as a file: the Content Security Policy allows no
// inline script.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.dataset.autosubmit !== undefined) {
    target.form.submit();
  }
});

// A "select all" box ticks or clears every box of its name on the page, and shows "some"
// (indeterminate) when only some are ticked.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLInputElement) || target.type !== "checkbox") return;
  const form = target.form;
  if (!form) return;
  if (target.dataset.selectAll !== undefined) {
    for (const box of form.querySelectorAll(`input[name="${target.dataset.selectAll}"]`)) {
      box.checked = target.checked;
    }
    return;
  }
  const all = form.querySelector(`input[data-select-all="${target.name}"]`);
  if (all) {
    const boxes = [...form.querySelectorAll(`input[name="${target.name}"]`)];
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
});

// A revealed individual number hides itself after its seconds, and when the page is left
// (another tab, another page, the browser's back-forward cache): the masked view kept in a
// <template> beside it comes back, with its reveal form.
function hideRevealed(holder) {
  const masked = holder.querySelector("template[data-masked-view]");
  if (!masked) return;
  holder.replaceChildren(masked.content.cloneNode(true));
  if (window.htmx) window.htmx.process(holder);
}

function armRevealed(root) {
  for (const revealed of root.querySelectorAll("[data-hide-after]:not([data-armed])")) {
    revealed.dataset.armed = "";
    const holder = revealed.closest("#individual-number");
    const seconds = Number(revealed.dataset.hideAfter) || 30;
    window.setTimeout(() => hideRevealed(holder), seconds * 1000);
  }
}

document.addEventListener("DOMContentLoaded", () => armRevealed(document));
document.addEventListener("htmx:afterSettle", () => armRevealed(document));
for (const leaving of ["pagehide", "visibilitychange"]) {
  window.addEventListener(leaving, () => {
    if (leaving === "visibilitychange" && document.visibilityState !== "hidden") return;
    for (const holder of document.querySelectorAll("#individual-number")) hideRevealed(holder);
  });
}
