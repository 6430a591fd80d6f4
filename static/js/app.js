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
