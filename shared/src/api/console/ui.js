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
/** A typed amount → minor units (integer), or null if it is not a valid amount. Takes the
 *  forms people type: "12", "12,34", "12.34", "1.234,56" (pt-BR), "1,234.56" (en). A number
 *  with thousands groups has the other separator (if any) as its decimal one. */
export function parseMoney(text, currency) {
  const d = fractionDigits(currency);
  const s = String(text).trim();
  let whole; let frac = "";
  const grouped = s.match(/^(\d{1,3}(?:([.,])\d{3})+)(?:([.,])(\d+))?$/);
  if (grouped && grouped[3] !== grouped[2]) {
    whole = grouped[1].replace(/[.,]/g, ""); frac = grouped[4] || "";
  } else {
    const m = s.match(/^(\d+)(?:[.,](\d+))?$/);
    if (!m) return null;
    whole = m[1]; frac = m[2] || "";
  }
  if (frac.length > d) return null;
  const v = Number(whole + frac.padEnd(d, "0"));
  return Number.isSafeInteger(v) && v > 0 ? v : null;
}
/** An instant in the reader's language and zone, the zone named: "08/12/2026, 01:11:03 UTC". */
export function dt(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(getLang(), { day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
}
/** A share (0..1) as a percentage with one decimal: "80,0 %" in pt-BR, "80.0%" in English. */
export function pct(x) {
  if (x === null || x === undefined || isNaN(x)) return "—";
  const n = new Intl.NumberFormat(getLang(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(x * 100);
  return getLang() === "en" ? `${n}%` : `${n} %`;
}
/** A count in the reader's language (thousands grouped). */
export function num(n) { return new Intl.NumberFormat(getLang()).format(n); }

const STATUS_CLASS = { succeeded: "ok", delivered: "ok", closed: "ok", refunded: "info", partially_refunded: "info",
  failed: "bad", open: "bad", canceled: "bad", expired: "warn", pending: "warn", processing: "warn",
  requires_action: "warn", half_open: "warn", declined: "bad", unavailable: "bad", ambiguous: "warn",
  misconfigured: "bad", invalid: "bad", no_endpoint: "" };
/** A status pill; without a label, the value's translation (`st_<value>`), else the value. */
export function badge(value, label) {
  const known = t(`st_${value}`);
  return h(`span.badge${STATUS_CLASS[value] ? "." + STATUS_CLASS[value] : ""}`, { dataset: { value } },
    label || (known === `st_${value}` ? value : known));
}
/** A gateway attempt's outcome: an outlined, square tag that says "attempt", so it cannot be
 *  read as the payment's own status pill. */
export function attemptTag(outcome) {
  const cls = outcome === "succeeded" ? "ok" : outcome === "ambiguous" ? "warn" : "bad";
  return h(`span.attempt-tag.${cls}`, { dataset: { value: outcome } }, t("attempt_outcome", { o: t(`outcome_${outcome}`) }));
}
/** A long id, cut to fit on a phone (full id in the title and the copy button's clipboard). */
export function idText(id, href) {
  const text = href ? h("a.mono.id-text", { href, title: id }, id) : h("code.id-text", { title: id }, id);
  return h("span.id-cell", null, text, copyButton(id));
}
export function copyButton(value) {
  const b = h("button.small.secondary.copy", { type: "button", "aria-label": `${t("copy")} ${value}`, dataset: { copy: value } }, t("copy"));
  b.addEventListener("click", async (e) => {
    e.preventDefault();
    try { await navigator.clipboard.writeText(value); b.textContent = t("copied"); } catch { b.textContent = "—"; }
    setTimeout(() => { b.textContent = t("copy"); }, 1500);
  });
  return b;
}
export function stateLabel(state) { return t(`state_${state}`); }

/** An error (ApiError or other) as a message element: the translation of its `code` when the
 *  console knows it (`err_<code>`), else the server's message. */
export function errorText(e) {
  if (e && e.status === 0) return t("network_error");
  const known = e && e.code ? t(`err_${e.code}`) : null;
  let text;
  if (known && known !== `err_${e.code}`) text = e.param ? `${known} (${e.param})` : known;
  else if (e && e.retryable) text = `${t("retry_hint")} (${e.status} ${e.code || ""})`;
  else if (e && e.status === 404) text = t("not_found");
  else text = t("err_generic", { s: (e && e.status) || "", m: (e && e.message) || String(e) });
  if (e && e.requestId) text += ` [${e.requestId}]`;
  return text;
}
export function errorMsg(e) {
  return h("div.msg.error", { role: "alert", dataset: { code: (e && e.code) || "" } }, errorText(e));
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
  const W = 720, H = 240, L = 64, B = 34, T = 12;
  // A top that divides into four whole steps, so no two gridlines carry the same number.
  const top = Math.max(1, ...series.flatMap((x) => x.values));
  const max = Math.ceil(top / 4) * 4;
  const n = Math.max(1, labels.length); const slot = (W - L - 4) / n; const bw = Math.max(1, (slot - 2) / series.length);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    svg.append(s("line", { x1: L, x2: W, y1: y, y2: y, class: "axis", "stroke-dasharray": i ? "2 3" : "" }));
    svg.append(s("text", { x: L - 6, y: y + 6, "text-anchor": "end" }, num(Math.round((max * i) / 4))));
  }
  labels.forEach((lab, i) => {
    series.forEach((ser, j) => {
      const v = ser.values[i] || 0; const bh = ((H - T - B) * v) / max;
      const r = s("rect", { x: L + i * slot + 1 + j * bw, y: H - B - bh, width: Math.max(1, bw - 1), height: bh, class: ser.cls });
      r.append(s("title", {}, `${lab} · ${ser.name}: ${v}`));
      svg.append(r);
    });
    if (n <= 7 || i % Math.ceil(n / 7) === 0) svg.append(s("text", { x: L + i * slot + slot / 2, y: H - B + 24, "text-anchor": "middle" }, lab));
  });
  return h("div.chart", null, svg,
    h("div.legend", null, series.map((x) => h("span", null, h(`span.sw.${{ bar: "a", bar2: "b", bar3: "c" }[x.cls] || "a"}`, { "aria-hidden": "true" }), x.name))));
}

/** A line chart of one series (values in 0..max, `null` = no data that day), as SVG. Points
 *  with no data break the line, so an idle day never reads as 0 %. */
export function lineChart(labels, values, title, opts = {}) {
  const W = 720, H = 240, L = 96, B = 34, T = 12;
  const max = opts.max ?? Math.max(1, ...values.filter((v) => v !== null));
  const fmt = opts.fmt || ((v) => String(Math.round(v)));
  const n = Math.max(1, labels.length); const step = (W - L - 10) / Math.max(1, n - 1);
  const x = (i) => L + (n === 1 ? (W - L) / 2 : i * step); const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(s("line", { x1: L, x2: W, y1: y(v), y2: y(v), class: "axis", "stroke-dasharray": i ? "2 3" : "" }));
    svg.append(s("text", { x: L - 6, y: y(v) + 6, "text-anchor": "end" }, fmt(v)));
  }
  let d = ""; let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)} `; pen = true;
    const dot = s("circle", { cx: x(i), cy: y(v), r: 6, class: "dot" });
    dot.append(s("title", {}, `${labels[i]}: ${fmt(v)}`));
    svg.append(dot);
  });
  if (d) svg.prepend(s("path", { d, class: "line", fill: "none" }));
  labels.forEach((lab, i) => {
    if (n <= 7 || i % Math.ceil(n / 7) === 0) svg.append(s("text", { x: x(i), y: H - B + 24, "text-anchor": "middle" }, lab));
  });
  return h("div.chart", null, svg);
}

/** Horizontal bars, one per row ({label, value, text}): for categories (method, gateway). */
export function hbarChart(rows, title) {
  const W = 360, R = 22, L = 90, T = 4;
  const H = T * 2 + Math.max(1, rows.length) * R;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  rows.forEach((r, i) => {
    const y = T + i * R; const w = ((W - L - 70) * r.value) / max;
    svg.append(s("text", { x: L - 6, y: y + R / 2 + 4, "text-anchor": "end" }, r.label));
    const bar = s("rect", { x: L, y: y + 3, width: Math.max(r.value ? 2 : 0, w), height: R - 6, class: r.cls || "bar" });
    bar.append(s("title", {}, `${r.label}: ${r.text}`));
    svg.append(bar);
    svg.append(s("text", { x: L + w + 4, y: y + R / 2 + 4 }, r.text));
  });
  return h("div.chart.hbar", null, svg);
}
