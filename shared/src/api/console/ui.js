// DOM helpers (no innerHTML with data), formatting, CSV and SVG charts.
import { t, getLang } from "./i18n.js";

/** h("tag.class#id", {attrs, on*: handlers}, ...children) */
export function h(spec, attrs, ...children) {
  const m = spec.match(/^([a-z0-9]+)((?:[.#][\w-]+)*)$/i);
  const el = document.createElement(m ? m[1] : spec);
  if (m && m[2]) for (const part of m[2].match(/[.#][\w-]+/g)) {
    if (part[0] === ".") el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs) for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVGNS = "http://www.w3.org/2000/svg";
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

const digitsCache = {};
export function fractionDigits(currency) {
  if (!(currency in digitsCache)) {
    try { digitsCache[currency] = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits; }
    catch { digitsCache[currency] = 2; }
  }
  return digitsCache[currency];
}
/** Minor units → localized money, exact (no floating point on the amount itself). */
export function money(minor, currency) {
  const d = fractionDigits(currency);
  const neg = minor < 0; const abs = String(Math.abs(minor)).padStart(d + 1, "0");
  const whole = abs.slice(0, abs.length - d) || "0"; const frac = d ? abs.slice(abs.length - d) : "";
  const nf = new Intl.NumberFormat(getLang(), { style: "currency", currency, minimumFractionDigits: d, maximumFractionDigits: d });
  // Format via parts so big integers don't lose precision beyond 2^53.
  const parts = nf.formatToParts(neg ? -1.5 : 1.5);
  const group = new Intl.NumberFormat(getLang()).formatToParts(1000).find((p) => p.type === "group")?.value ?? ",";
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  return parts.map((p) => p.type === "integer" ? grouped : p.type === "fraction" ? frac : p.value).join("");
}
/** "12,34" / "12.34" / "12" → minor units (integer), or null if not a valid amount. */
export function parseMoney(text, currency) {
  const d = fractionDigits(currency);
  const m = String(text).trim().match(/^(\d+)(?:[.,](\d+))?$/);
  if (!m || (m[2] && m[2].length > d)) return null;
  const v = Number(m[1] + (m[2] || "").padEnd(d, "0"));
  return Number.isSafeInteger(v) && v > 0 ? v : null;
}
export function dt(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(getLang(), { dateStyle: "short", timeStyle: "medium" });
}
export function pct(x) { return x === null || x === undefined || isNaN(x) ? "—" : `${(x * 100).toFixed(1)}%`; }

const STATUS_CLASS = { succeeded: "ok", delivered: "ok", closed: "ok", refunded: "info", partially_refunded: "info",
  failed: "bad", open: "bad", canceled: "bad", expired: "warn", pending: "warn", processing: "warn",
  requires_action: "warn", half_open: "warn", declined: "bad", unavailable: "bad", ambiguous: "warn",
  misconfigured: "bad", invalid: "bad", no_endpoint: "" };
export function badge(value, label) {
  return h(`span.badge${STATUS_CLASS[value] ? "." + STATUS_CLASS[value] : ""}`, { dataset: { value } }, label || value);
}
export function stateLabel(state) { return t(`state_${state}`); }

/** An error (ApiError or other) as a message element. */
export function errorMsg(e) {
  let text;
  if (e && e.status === 0) text = t("network_error");
  else if (e && e.retryable) text = `${t("retry_hint")} (${e.status} ${e.code || ""})`;
  else if (e && e.status === 404) text = t("not_found");
  else text = t("err_generic", { s: (e && e.status) || "", m: (e && e.message) || String(e) });
  if (e && e.requestId) text += ` [${e.requestId}]`;
  return h("div.msg.error", { role: "alert" }, text);
}
export function msg(kind, text) { return h(`div.msg.${kind}`, { role: kind === "error" ? "alert" : "status" }, text); }

export function table(headers, rows, opts = {}) {
  return h("div.table-wrap", null, h("table", { "aria-label": opts.label },
    h("thead", null, h("tr", null, headers.map((x) => {
      const [label, cls] = Array.isArray(x) ? x : [x, ""];
      return h(`th${cls ? "." + cls : ""}`, { scope: "col" }, label);
    }))),
    h("tbody", null, rows.length ? rows : h("tr", null, h("td", { colSpan: headers.length }, t("none_found"))))));
}

export function csvDownload(filename, header, rows) {
  const esc = (v) => {
    const x = v === null || v === undefined ? "" : String(v);
    // Neutralize spreadsheet formulas, quote when needed.
    const safe = /^[=+\-@\t\r]/.test(x) ? `'${x}` : x;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const text = [header, ...rows].map((r) => r.map(esc).join(",")).join("\r\n") + "\r\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return text;
}

/** A bar chart of series over labels, drawn as SVG (two series side by side). */
export function barChart(labels, series, title) {
  const W = 720, H = 220, L = 36, B = 28, T = 10;
  const max = Math.max(1, ...series.flatMap((x) => x.values));
  const n = Math.max(1, labels.length); const slot = (W - L - 4) / n; const bw = Math.max(1, (slot - 2) / series.length);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    svg.append(s("line", { x1: L, x2: W, y1: y, y2: y, class: "axis", "stroke-dasharray": i ? "2 3" : "" }));
    svg.append(s("text", { x: L - 4, y: y + 3, "text-anchor": "end" }, Math.round((max * i) / 4)));
  }
  labels.forEach((lab, i) => {
    series.forEach((ser, j) => {
      const v = ser.values[i] || 0; const bh = ((H - T - B) * v) / max;
      const r = s("rect", { x: L + i * slot + 1 + j * bw, y: H - B - bh, width: Math.max(1, bw - 1), height: bh, class: ser.cls });
      r.append(s("title", {}, `${lab} · ${ser.name}: ${v}`));
      svg.append(r);
    });
    if (n <= 16 || i % Math.ceil(n / 10) === 0) svg.append(s("text", { x: L + i * slot + slot / 2, y: H - B + 14, "text-anchor": "middle" }, lab));
  });
  return h("div.chart", null, svg,
    h("div.legend", null, series.map((x) => h("span", null, h(`span.sw.${x.cls === "bar" ? "a" : "b"}`, { "aria-hidden": "true" }), x.name))));
}
