// The page's usability problems, for the browser walk: a control without a label or name, a
// positive tabindex, text below WCAG's 4.5:1 contrast against its background.
const problems = [];
const shown = (el) => {
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  return s.visibility !== "hidden" && s.display !== "none" && (r.width > 0 || r.height > 0);
};
const cut = (el) => el.outerHTML.slice(0, 160);
for (const el of document.querySelectorAll("input, select, textarea")) {
  if (el.type === "hidden") continue;
  const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label");
  if (!named) problems.push("no label: " + cut(el));
}
for (const el of document.querySelectorAll("button, a[href]")) {
  if (!(el.textContent.trim() || el.getAttribute("aria-label"))) problems.push("no name: " + cut(el));
}
for (const el of document.querySelectorAll("[tabindex]")) {
  if (el.tabIndex > 0) problems.push("positive tabindex: " + cut(el));
}
const rgb = (c) => {
  const m = c.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(",").map(Number);
  return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
};
const lum = ({ r, g, b }) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
const background = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c && c.a > 0) return c;
  }
  return { r: 255, g: 255, b: 255, a: 1 };
};
for (const el of document.querySelectorAll("body *")) {
  const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!text || !shown(el)) continue;
  const [hi, lo] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  if (ratio < 4.5) problems.push("contrast " + ratio.toFixed(2) + ": " + cut(el));
}
return problems;
