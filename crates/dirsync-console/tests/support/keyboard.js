// With arguments[0] true: the controls a keyboard user must reach on the page (visible;
// one radio per group: Tab stops on its checked one), as their indices. Otherwise: the index
// of the focused one among them, its outline style and what it is.
const all = [...document.querySelectorAll(
  "a[href], button, input:not([type=hidden]), select, textarea, summary")]
  .filter((el) => {
    const r = el.getBoundingClientRect();
    return !el.disabled && getComputedStyle(el).visibility !== "hidden" && (r.width > 0 || r.height > 0);
  });
if (arguments[0]) {
  const groups = new Set();
  return all.map((el, i) => [el, i]).filter(([el]) => {
    if (el.type !== "radio") return true;
    const checked = document.querySelector(`input[type=radio][name="${el.name}"]:checked`);
    if (checked) return el === checked;
    if (groups.has(el.name)) return false;
    groups.add(el.name);
    return true;
  }).map(([, i]) => i);
}
const s = getComputedStyle(document.activeElement);
return [all.indexOf(document.activeElement), s.outlineStyle, document.activeElement.outerHTML.slice(0, 160)];
