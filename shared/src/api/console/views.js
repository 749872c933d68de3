// The views: overview, payments (list + detail), routing, webhooks, usage.
import { api, pages, newIdempotencyKey } from "./api.js";
import { t, getLang } from "./i18n.js";
import { h, money, parseMoney, dt, pct, num, badge, attemptTag, idText, copyButton, stateLabel, errorMsg, msg, table, csvDownload,
  barChart, lineChart, hbarChart, fractionDigits } from "./ui.js";
import { endpointPanel } from "./endpoint.js";
import { qrSvg } from "./qr.js";

const STATUSES = ["pending", "requires_action", "processing", "succeeded", "failed", "canceled", "expired", "refunded", "partially_refunded"];
const METHODS = ["pix", "card", "boleto"];
const GATEWAYS = ["efi", "stripe", "asaas"];
const SUCCESS = ["succeeded", "partially_refunded", "refunded"];

export const utcDay = (d) => d.toISOString().slice(0, 10);
const utcMonth = (d) => d.toISOString().slice(0, 7);

function field(labelText, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 8)}`;
  control.id = id;
  return h("label", { for: id }, labelText, control);
}
function select(name, values, current, labelFn = (v) => v) {
  return h("select", { name, "data-test": `filter-${name}` }, h("option", { value: "" }, t("all")),
    values.map((v) => h("option", { value: v, selected: v === current }, labelFn(v))));
}

// ---------- Overview ----------

function summarize(c) {
  const bs = c.payments.by_status || {};
  const succeeded = SUCCESS.reduce((a, k) => a + (bs[k] || 0), 0);
  const failed = bs.failed || 0;
  return { total: c.payments.total, succeeded, failed, rate: succeeded + failed ? succeeded / (succeeded + failed) : null,
    failovers: c.payments.failovers, refused: c.payments.refused ?? null, volume: c.volume || {} };
}
/** The figures of a period, each labelled with what it counts: payments created (whatever
 *  their status), approved, declined or failed, the success rate of the settled ones only
 *  (approved ÷ approved + failed: pending payments are in neither), failovers, volume created. */
function summaryCards(prefix, c) {
  const x = summarize(c);
  const card = (key, label, value) => h("div.card", { "data-test": `${prefix}-${key}` }, h("div.label", null, label), h("div.value", null, value));
  const vols = Object.entries(x.volume);
  return h("div.cards", null,
    card("total", t("payments_created"), x.total), card("succeeded", t("succeeded"), x.succeeded), card("failed", t("failed"), x.failed),
    card("rate", t("success_rate_settled"), pct(x.rate)), card("failovers", t("failovers"), x.failovers),
    // Requests no gateway could take (502): no payment exists for them, so they are in none of
    // the figures above. A server that does not count them yet shows no card.
    x.refused === null ? null : h(`div.card${x.refused ? ".alert" : ""}`, { "data-test": `${prefix}-refused` },
      h("div.label", null, t("refused_502")), h("div.value", null, num(x.refused))),
    vols.length ? vols.map(([cur, v]) => h("div.card", { "data-test": `${prefix}-volume-${cur}`, dataset: { minor: v.created } },
      h("div.label", null, t("volume_created", { c: cur })), h("div.value", null, money(v.created, cur))))
      : card("volume", t("volume_created", { c: "" }), "—"));
}

/** Per gateway, over the attempts of recent payments: attempts answered (a charge or a decline:
 *  the gateway worked), attempts it could not take (unavailable, ambiguous, misconfigured) and
 *  the mean latency of the calls made. Breaker skips made no call and are counted apart. */
function gatewayStats(payments) {
  const st = {};
  for (const p of payments) for (const a of p.attempts || []) {
    const g = (st[a.gateway] ||= { n: 0, answered: 0, ms: 0, skipped: 0 });
    if (a.code === "breaker_open") { g.skipped += 1; continue; }
    g.n += 1; g.ms += a.duration_ms || 0;
    if (a.outcome === "succeeded" || a.outcome === "declined") g.answered += 1;
  }
  return st;
}

function gatewaysTable(gws, stats) {
  return table([t("gateway"), t("state"), t("open_until"), [t("breaker_errors"), "num"],
    [t("attempts_answered"), "num"], [t("latency"), "num"], [t("methods"), "hide-sm"]],
  gws.map((g) => {
    const s = stats[g.gateway];
    return h("tr", { "data-gateway": g.gateway },
      h("th", { scope: "row" }, g.gateway, " ", h("span.note", null, g.live ? t("live") : t("simulator"))),
      h("td", { "data-test": "breaker-state" }, badge(g.state, stateLabel(g.state))),
      h("td", { "data-test": "open-until" }, g.open_until ? dt(g.open_until) : "—"),
      h("td.num", { "data-test": "breaker-errors" }, t("n_of_m", { n: num(g.failures), m: num(g.calls) })),
      h("td.num", { "data-test": "attempts-answered" }, s && s.n ? t("n_of_m", { n: num(s.answered), m: num(s.n) }) : "—"),
      h("td.num", null, s && s.n ? `${num(Math.round(s.ms / s.n))} ms` : "—"),
      h("td.hide-sm", null, g.methods.map((m) => t(`method_${m}`)).join(", ")));
  }), { label: t("gateways") });
}

/** The banner of an outage: each gateway whose breaker is open (or probing), and what that
 *  means for the next payments. Nothing when every breaker is closed. */
function outageBanner(gws) {
  const down = gws.filter((g) => g.state !== "closed");
  if (!down.length) return null;
  return h("div.outage-banner", { role: "alert", "data-test": "outage-banner" },
    h("strong", null, t("outage_title")), " ",
    down.map((g) => t(g.state === "open" ? "outage_open" : "outage_half_open",
      { g: g.gateway, u: g.open_until ? dt(g.open_until) : "—" })).join(" "), " ", t("outage_effect"));
}

/** The overview's charts: the last 14 UTC days (volume created, success rate of the settled
 *  payments, failovers), this month by method and by gateway, and the gateways' latency. */
function overviewCharts(days, month, stats) {
  const labels = days.map((d) => d.date.slice(8, 10) + "/" + d.date.slice(5, 7));
  const currencies = [...new Set(days.flatMap((d) => Object.keys(d.volume || {})))];
  const cur = currencies.includes("BRL") ? "BRL" : currencies[0];
  const rates = days.map((d) => summarize(d).rate);
  const byMethod = {}; const byGateway = {};
  for (const [g, ms] of Object.entries(month.payments.by_gateway || {})) for (const [m, n] of Object.entries(ms)) {
    byMethod[m] = (byMethod[m] || 0) + n; byGateway[g] = (byGateway[g] || 0) + n;
  }
  const lat = Object.entries(stats).filter(([, v]) => v.n).map(([g, v]) => ({ label: g, value: Math.round(v.ms / v.n), text: `${num(Math.round(v.ms / v.n))} ms` }));
  const box = (test, title, chart) => h("section.panel.chart-box", { "data-test": test }, h("h3", null, title), chart);
  return h("div.charts", null,
    box("chart-volume", t("chart_volume", { c: cur || "" }), cur
      ? barChart(labels, [{ name: t("volume_created", { c: cur }), cls: "bar", values: days.map((d) => Math.round(((d.volume || {})[cur] || {}).created || 0) / 10 ** fractionDigits(cur)) }], t("chart_volume", { c: cur }))
      : h("p.note", null, t("no_data"))),
    box("chart-success", t("chart_success"), lineChart(labels, rates, t("chart_success"), { max: 1, fmt: (v) => pct(v) })),
    box("chart-payments", t("chart_payments"), barChart(labels, [
      { name: t("payments_created"), cls: "bar", values: days.map((d) => d.payments.total) },
      { name: t("failovers"), cls: "bar2", values: days.map((d) => d.payments.failovers) }], t("chart_payments"))),
    days.some((d) => d.payments.refused !== undefined)
      ? box("chart-refused", t("chart_refused"), barChart(labels, [
        { name: t("refused_502"), cls: "bar3", values: days.map((d) => d.payments.refused || 0) }], t("chart_refused")))
      : null,
    box("chart-method", t("chart_by_method"), hbarChart(Object.entries(byMethod).map(([m, n]) => ({ label: t(`method_${m}`), value: n, text: num(n) })), t("chart_by_method"))),
    box("chart-gateway", t("chart_by_gateway"), hbarChart(Object.entries(byGateway).map(([g, n]) => ({ label: g, value: n, text: num(n) })), t("chart_by_gateway"))),
    box("chart-latency", t("chart_latency"), lat.length ? hbarChart(lat, t("chart_latency")) : h("p.note", null, t("no_data"))));
}

export async function overview(ctx) {
  // The content is replaced on each refresh; the heading and the button stay (focus is kept).
  const content = h("div", { "data-test": "overview-content" });
  const stamp = h("span.note", { role: "status" });
  const load = async () => {
    const now = new Date();
    const first = new Date(now.getTime() - 13 * 86400e3);
    const [series, month, gws, recent] = await Promise.all([
      api("GET", "/v1/usage", { query: { from: utcDay(first), to: utcDay(now), granularity: "day" } }),
      api("GET", "/v1/usage", { query: { month: utcMonth(now) } }),
      api("GET", "/v1/gateways"),
      api("GET", "/v1/payments", { query: { limit: 100 } }),
    ]);
    if (!ctx.isCurrent()) return;
    const days = series.data.data;
    const today = days.find((d) => d.date === utcDay(now)) || { payments: { total: 0, by_status: {}, failovers: 0, by_gateway: {} }, volume: {} };
    const stats = gatewayStats(recent.data.data);
    stamp.textContent = `${t("auto_refresh")} · ${dt(now.toISOString())}`;
    content.replaceChildren(...[
      outageBanner(gws.data.data),
      h("h2", null, t("today_utc", { d: dt_day(utcDay(now)) })), summaryCards("today", today),
      h("h2", null, t("this_month_of", { m: month.data.period.month })), summaryCards("month", month.data),
      h("h2", null, t("gateways")), gatewaysTable(gws.data.data, stats),
      h("p.note", null, t("gw_stats_note", { n: recent.data.data.length })),
      h("h2", null, t("charts")), overviewCharts(days, month.data, stats)].filter(Boolean));
  };
  const refresh = h("button.secondary.small", { type: "button", "data-test": "overview-refresh",
    onclick: () => load().catch((e) => { if (e.status !== 401) content.prepend(errorMsg(e)); }) }, t("refresh"));
  await load();
  ctx.main.replaceChildren(h("h1", null, t("nav_overview")), h("div.row", null, refresh, stamp), content);
  const timer = setInterval(() => { load().catch(() => {}); }, 5000);
  ctx.setCleanup(() => clearInterval(timer));
}

/** A UTC day (YYYY-MM-DD) as the reader writes dates: 08/12/2026 (pt-BR), 12/08/2026 (en). */
function dt_day(day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(getLang(), { timeZone: "UTC", day: "2-digit", month: "2-digit", year: "numeric" });
}

// ---------- Payments ----------

const PERIODS = { "30m": 30 * 60e3, "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };

function bounds(q) {
  const p = q.get("period");
  if (PERIODS[p]) return { from: Date.now() - PERIODS[p], to: null };
  if (p === "custom") {
    const f = q.get("from") ? new Date(q.get("from")).getTime() : null;
    const to = q.get("to") ? new Date(q.get("to")).getTime() : null;
    return { from: isNaN(f) ? null : f, to: isNaN(to) ? null : to };
  }
  return { from: null, to: null };
}

/** Scans pages (server filters status, reference), filters the rest here. */
function scanner(q) {
  const server = { status: q.get("status"), reference: q.get("reference"), limit: 100 };
  const { from, to } = bounds(q);
  const method = q.get("method"); const gateway = q.get("gateway");
  const st = { after: undefined, done: false, scanned: 0 };
  const keep = (p) => {
    const at = Date.parse(p.created_at);
    return (!method || p.method === method) && (!gateway || p.gateway === gateway) && (to === null || at <= to) && (from === null || at >= from);
  };
  st.next = async (want) => {
    const out = [];
    while (!st.done && out.length < want) {
      const { data } = await api("GET", "/v1/payments", { query: { ...server, starting_after: st.after } });
      st.scanned += data.data.length;
      for (const p of data.data) {
        if (from !== null && Date.parse(p.created_at) < from) { st.done = true; break; } // newest first: the rest is older
        if (keep(p)) out.push(p);
      }
      if (!data.has_more || !data.next_cursor) st.done = true;
      st.after = data.next_cursor;
    }
    return out;
  };
  return st;
}

function paymentRow(p) {
  const failover = (p.attempts || []).length > 1;
  return h("tr", { "data-payment": p.id, "data-status": p.status, "data-method": p.method },
    h("td", null, dt(p.created_at)),
    h("td", null, idText(p.id, `#/payments/${encodeURIComponent(p.id)}`)),
    h("td", null, badge(p.status)),
    h("td.num", null, money(p.amount, p.currency)),
    h("td", null, t(`method_${p.method}`)),
    h("td", null, p.gateway || "—", failover ? h("span.note", null, ` (${t("failovers").toLowerCase()}: ${p.attempts.length - 1})`) : null),
    h("td.hide-sm", null, p.reference || "—"));
}

/** The search box: a payment id opens it (one read); a CPF/CNPJ (11 or 14 characters once
 *  `.`, `-`, `/` and spaces are dropped) lists that customer's payments among the newest 1,000
 *  (`customer_document`); anything else is looked up as a gateway id (one indexed read per
 *  gateway) and, failing that, as a reference (the list's server-side filter). */
function searchForm() {
  const input = h("input", { type: "search", name: "q", "data-test": "search", maxLength: 128, autocomplete: "off", spellcheck: "false" });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form.filters.panel.search", {
    role: "search", "data-test": "search-form",
    onsubmit: async (e) => {
      e.preventDefault();
      const q = input.value.trim();
      if (!q) return;
      if (/^pay_[0-9A-Za-z]+$/.test(q)) { location.hash = `#/payments/${encodeURIComponent(q)}`; return; }
      const bare = q.replace(/[.\-/ ]/g, "");
      if (/^\d{11}$/.test(bare) || /^[0-9A-Za-z]{12}\d{2}$/.test(bare)) {
        try {
          const { data } = await api("GET", "/v1/payments", { query: { customer_document: q, limit: 20 } });
          if (data.data.length === 1) { location.hash = `#/payments/${encodeURIComponent(data.data[0].id)}`; return; }
          out.replaceChildren(data.data.length
            ? h("ul.results", { "data-test": "search-results" }, data.data.map((p) => h("li", null,
              h("a", { href: `#/payments/${encodeURIComponent(p.id)}` }, idText(p.id)), " ", badge(p.status), " ", money(p.amount, p.currency), " ", dt(p.created_at))),
              data.has_more ? h("li.note", null, t("search_more")) : null)
            : h("p.note", { "data-test": "search-results" }, t("none_found")));
          return;
        } catch (err) { if (err.status !== 400) { out.replaceChildren(errorMsg(err)); return; } }
      }
      try {
        const { data } = await api("GET", "/v1/payments", { query: { gateway_payment_id: q, limit: 1 } });
        if (data.data.length) { location.hash = `#/payments/${encodeURIComponent(data.data[0].id)}`; return; }
      } catch (err) { if (err.status !== 400) { out.replaceChildren(errorMsg(err)); return; } }
      location.hash = `#/payments?reference=${encodeURIComponent(q)}`;
    },
  }, field(t("search_label"), input), h("button", { type: "submit" }, t("search")), h("p.note", null, t("search_note")));
  return h("div", null, form, out);
}

export async function payments(ctx) {
  const q = ctx.query;
  const ref = h("input", { name: "reference", value: q.get("reference") || "", maxLength: 128, "data-test": "filter-reference" });
  const period = h("select", { name: "period", "data-test": "filter-period" }, h("option", { value: "" }, t("all")),
    ["30m", "1h", "24h", "7d", "custom"].map((p) => h("option", { value: p, selected: q.get("period") === p }, t(`p_${p}`))));
  const from = h("input", { type: "datetime-local", name: "from", value: q.get("from") || "" });
  const to = h("input", { type: "datetime-local", name: "to", value: q.get("to") || "" });
  const form = h("form.filters.panel", {
    role: "search", "data-test": "payments-filters",
    onsubmit: (e) => {
      e.preventDefault();
      const fd = new FormData(form); const nq = new URLSearchParams();
      for (const [k, v] of fd.entries()) if (v && (fd.get("period") === "custom" || (k !== "from" && k !== "to"))) nq.set(k, v);
      const target = `#/payments${nq.toString() ? "?" + nq : ""}`;
      if (location.hash === target) ctx.rerender(); else location.hash = target;
    },
  },
  field(t("status"), select("status", STATUSES, q.get("status"), (v) => t(`st_${v}`))),
  field(t("method"), select("method", METHODS, q.get("method"), (v) => t(`method_${v}`))),
  field(t("gateway"), select("gateway", GATEWAYS, q.get("gateway"))),
  field(t("reference"), ref), field(t("period"), period), field(t("from"), from), field(t("to"), to),
  h("button", { type: "submit", "data-test": "filter-apply" }, t("apply")),
  h("button.secondary", { type: "button", onclick: () => { location.hash = "#/payments"; } }, t("clear")));

  const tbody = h("tbody");
  const info = h("p.note", { role: "status", "data-test": "scan-info" });
  const more = h("button.secondary", { type: "button", "data-test": "load-more" }, t("load_more"));
  const exportOut = h("span.note", { role: "status" });
  const exportBtn = h("button.secondary", { type: "button", "data-test": "export-csv" }, t("export_csv"));
  const sc = scanner(q);
  let matched = 0;
  const loadMore = async () => {
    more.disabled = true;
    try {
      const rows = await sc.next(50);
      matched += rows.length;
      tbody.append(...rows.map(paymentRow));
      if (!tbody.children.length) tbody.append(h("tr", null, h("td", { colSpan: 7 }, t("none_found"))));
      info.textContent = t("scanned", { n: sc.scanned, m: matched });
      more.hidden = sc.done;
    } catch (e) { if (e.status !== 401) info.replaceWith(errorMsg(e)); } finally { more.disabled = false; }
  };
  more.addEventListener("click", loadMore);
  exportBtn.addEventListener("click", async () => {
    exportBtn.disabled = true;
    try {
      const all = scanner(q); const rows = [];
      while (!all.done) {
        for (const p of await all.next(500)) rows.push([p.id, p.created_at, p.status, p.amount, p.currency, p.method, p.gateway,
          p.reference, p.refunded_amount, (p.attempts || []).map((a) => `${a.gateway}:${a.outcome}`).join(" "), p.failure ? p.failure.code : ""]);
        exportOut.textContent = t("exporting", { n: rows.length });
      }
      csvDownload(`payments-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.csv`,
        ["id", "created_at", "status", "amount_minor", "currency", "method", "gateway", "reference", "refunded_amount_minor", "attempts", "failure_code"], rows);
      exportOut.textContent = t("exported", { n: rows.length });
      exportOut.dataset.rows = rows.length;
    } catch (e) { exportOut.replaceChildren(errorMsg(e)); } finally { exportBtn.disabled = false; }
  });
  ctx.main.replaceChildren(h("h1", null, t("nav_payments")), searchForm(), form, h("p.note", null, t("filter_note")),
    h("div.row", null, exportBtn, exportOut),
    h("div.table-wrap", null, h("table", { "aria-label": t("nav_payments"), "data-test": "payments-table" },
      h("thead", null, h("tr", null, [t("created"), t("id"), t("status"), [t("amount"), "num"], t("method"), t("gateway"), [t("reference"), "hide-sm"]]
        .map((x) => Array.isArray(x) ? h(`th.${x[1]}`, { scope: "col" }, x[0]) : h("th", { scope: "col" }, x)))), tbody)),
    info, more);
  await loadMore();
}

// ---------- Payment detail ----------

function attemptsTimeline(p) {
  if (!p.attempts || !p.attempts.length) return h("p.note", null, "—");
  return h("ol.timeline", { "data-test": "attempts" }, p.attempts.map((a, i) =>
    h(`li.${a.outcome === "succeeded" ? "ok" : a.outcome === "ambiguous" ? "warn" : "bad"}`, { "data-gateway": a.gateway, "data-outcome": a.outcome },
      h("strong", null, `${i + 1}. ${a.gateway}`), " ", attemptTag(a.outcome), " ",
      a.code ? h("code", null, a.code) : null, " ", h("span.note", null, `${num(a.duration_ms)} ms`))));
}

/** What the payer needs, as the gateway gave it: the Pix copy-and-paste code with its QR (the
 *  gateway's image when it sent one, else drawn here from the code), the boleto's link and
 *  digitable line, a redirect to complete. */
function payerSection(pay) {
  const parts = [];
  if (pay.pix) {
    const img = pay.pix.qr_code_png_base64
      ? h("img.qr", { src: `data:image/png;base64,${pay.pix.qr_code_png_base64}`, alt: t("pix_qr"), "data-test": "pix-qr" })
      : qrSvg(pay.pix.copy_paste, t("pix_qr"));
    parts.push(h("div.payer", { "data-test": "pix" },
      h("div.qr-box", null, img),
      h("dl.kv", null,
        h("dt", null, t("pix_code")), h("dd", null, h("code.wrap", { "data-test": "pix-code" }, pay.pix.copy_paste), " ", copyButton(pay.pix.copy_paste)),
        pay.pix.expires_at ? [h("dt", null, t("expires")), h("dd", null, dt(pay.pix.expires_at))] : null)));
  }
  if (pay.boleto) {
    parts.push(h("dl.kv", { "data-test": "boleto" },
      h("dt", null, t("boleto_link")), h("dd", null, h("a", { href: pay.boleto.url, target: "_blank", rel: "noopener noreferrer", "data-test": "boleto-url" }, t("boleto_open"))),
      h("dt", null, t("boleto_barcode")), h("dd", null, h("code.wrap", { "data-test": "boleto-barcode" }, pay.boleto.barcode), " ", copyButton(pay.boleto.barcode)),
      pay.boleto.due_date ? [h("dt", null, t("due_date")), h("dd", null, pay.boleto.due_date.split("-").reverse().join("/"))] : null));
  }
  if (pay.next_action) {
    parts.push(h("dl.kv", { "data-test": "next-action" }, h("dt", null, t("next_action")),
      h("dd", null, h("a", { href: pay.next_action.url, target: "_blank", rel: "noopener noreferrer" }, pay.next_action.type))));
  }
  return parts.length ? parts : h("p.note", null, t("payer_none"));
}

/** `Maria Souza · CPF 529.***.***-25 · maria@example.com`, or a dash. */
function customerText(c) {
  if (!c) return "—";
  const doc = c.document_masked ? `${(c.document_type || "").toUpperCase()} ${c.document_masked}`.trim() : null;
  return [c.name, doc, c.email].filter(Boolean).join(" · ");
}

function metadataList(pay) {
  const entries = Object.entries(pay.metadata || {});
  if (!entries.length) return h("p.note", { "data-test": "metadata" }, t("metadata_none"));
  return h("dl.kv", { "data-test": "metadata" }, entries.map(([k, v]) => [h("dt", null, h("code", null, k)), h("dd", null, v)]));
}

function deliveryAttempts(ev) {
  const at = ev.delivery.attempts || [];
  return table([t("at"), [t("http_status"), "num"], [t("duration"), "num"], t("error")],
    at.map((a) => h("tr", null, h("td", null, dt(a.at)), h("td.num", null, a.http_status ?? "—"),
      h("td.num", null, `${a.duration_ms} ms`), h("td", null, a.error || a.response_excerpt || ""))), { label: t("attempts") });
}

/** One event row (with its attempts in a disclosure and a Resend button). */
export function eventRow(ev, withPayment) {
  const state = h("td", { "data-test": "delivery-state" });
  const att = h("td");
  const out = h("div", { role: "status" });
  const paint = (e) => {
    state.replaceChildren(badge(e.delivery.state, t(`delivery_${e.delivery.state}`)));
    att.replaceChildren(h("details", null, h("summary", { "data-test": "attempts-count" }, String(e.delivery.attempts.length)), deliveryAttempts(e)));
  };
  paint(ev);
  const resend = h("button.small.secondary", { type: "button", "data-test": "resend" }, t("resend"));
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    try {
      const r = await api("POST", `/v1/events/${encodeURIComponent(ev.id)}/resend`);
      out.replaceChildren(msg("ok", t("resent"))); paint(r.data);
      const before = r.data.delivery.attempts.length;
      for (let i = 0; i < 20; i++) {
        await new Promise((ok) => setTimeout(ok, 500));
        const { data } = await api("GET", `/v1/events/${encodeURIComponent(ev.id)}`);
        paint(data);
        if (data.delivery.attempts.length > before && data.delivery.state !== "pending") break;
      }
    } catch (e) { out.replaceChildren(errorMsg(e)); } finally { resend.disabled = false; }
  });
  return h("tr", { "data-event": ev.id, "data-type": ev.type },
    h("td", null, dt(ev.created_at)), h("td", null, h("code", null, ev.type)),
    withPayment ? h("td.hide-sm", null, h("a.mono", { href: `#/payments/${encodeURIComponent(ev.payment_id)}` }, ev.payment_id)) : null,
    state, att, h("td", null, resend, out));
}
function eventsTable(events, withPayment) {
  const heads = [t("created"), t("type"), withPayment ? [t("payment"), "hide-sm"] : null, t("delivery_state"), t("attempts"), ""].filter(Boolean);
  return table(heads, events.map((e) => eventRow(e, withPayment)), { label: t("events") });
}

export async function paymentDetail(ctx) {
  const id = ctx.parts[1];
  let p;
  try {
    p = (await api("GET", `/v1/payments/${encodeURIComponent(id)}`, { query: { expand: "customer" } })).data;
  } catch (e) {
    if (e.status === 404 || e.status === 400) {
      ctx.main.replaceChildren(h("h1", null, t("detail")), h("div.msg.error", { role: "alert", "data-test": "not-found" }, `${t("not_found")} ${id}`),
        h("a", { href: "#/payments" }, t("back")));
      return;
    }
    throw e;
  }
  const summary = h("div"); const refunds = h("div"); const events = h("div"); const attempts = h("div");
  const payer = h("div"); const meta = h("div");
  const actionsOut = h("div", { "aria-live": "polite", "data-test": "action-out" });
  // Only the read of one payment with ?expand=customer names its customer (a refund's or cancel's answer does not):
  // keep the last one seen.
  let customer = null;
  const paint = async (pay) => {
    p = pay;
    if (pay.customer !== undefined) customer = pay.customer;
    summary.replaceChildren(h("dl.kv", { "data-test": "payment-summary" },
      h("dt", null, t("status")), h("dd", { "data-test": "payment-status" }, badge(pay.status)),
      h("dt", null, t("amount")), h("dd", null, money(pay.amount, pay.currency)),
      h("dt", null, t("refunded_amount")), h("dd", { "data-test": "refunded-amount", dataset: { minor: pay.refunded_amount } }, money(pay.refunded_amount, pay.currency)),
      h("dt", null, t("method")), h("dd", null, t(`method_${pay.method}`)),
      h("dt", null, t("gateway")), h("dd", null, pay.gateway || "—"),
      h("dt", null, t("gateway_payment_id")), h("dd", null, pay.gateway_payment_id ? idText(pay.gateway_payment_id) : "—"),
      h("dt", null, t("reference")), h("dd", null, pay.reference || "—"),
      h("dt", null, t("description")), h("dd", null, pay.description || "—"),
      h("dt", null, t("customer")), h("dd", { "data-test": "customer" }, customerText(customer)),
      pay.failure ? [h("dt", null, t("failure")), h("dd", { "data-test": "failure" }, h("code", null, pay.failure.code), " ",
        t(`err_${pay.failure.code}`) !== `err_${pay.failure.code}` ? t(`err_${pay.failure.code}`) : pay.failure.message)] : null,
      h("dt", null, t("created")), h("dd", null, dt(pay.created_at)),
      h("dt", null, t("updated")), h("dd", null, `${dt(pay.updated_at)} (v${pay.version})`)));
    attempts.replaceChildren(attemptsTimeline(pay));
    payer.replaceChildren(...[payerSection(pay)].flat());
    meta.replaceChildren(metadataList(pay));
    refunds.replaceChildren(table([t("id"), [t("amount"), "num"], t("status"), t("reason"), t("created")],
      (pay.refunds || []).map((r) => h("tr", { "data-refund": r.id }, h("td", null, h("code", null, r.id)), h("td.num", null, money(r.amount, pay.currency)),
        h("td", null, badge(r.status)), h("td", null, r.reason ? t(`reason_${r.reason}`) : "—"), h("td", null, dt(r.created_at)))), { label: t("refunds") }));
    try {
      const ev = await api("GET", "/v1/events", { query: { payment_id: pay.id, limit: 100 } });
      events.replaceChildren(ev.data.data.length ? eventsTable(ev.data.data, false) : h("p.note", null, t("no_events")));
    } catch (e) { events.replaceChildren(errorMsg(e)); }
    refundForm.hidden = !["succeeded", "partially_refunded"].includes(pay.status);
    refundNote.hidden = !refundForm.hidden;
    cancelBox.hidden = !["pending", "requires_action"].includes(pay.status) || sessionStorage.getItem("orch_no_cancel") === "1";
  };

  // Refresh (re-sync from the gateway; only reads).
  const refreshBtn = h("button.secondary", { type: "button", "data-test": "refresh" }, t("refresh"));
  refreshBtn.addEventListener("click", async () => {
    refreshBtn.disabled = true;
    try { await paint((await api("GET", `/v1/payments/${encodeURIComponent(p.id)}`, { query: { refresh: "true" } })).data); actionsOut.replaceChildren(msg("ok", t("refreshed"))); }
    catch (e) { actionsOut.replaceChildren(errorMsg(e)); } finally { refreshBtn.disabled = false; }
  });

  // Refund: one idempotency key per intended refund (form content), reused on every retry, so a
  // double click or a retry after a timeout refunds once. Editing the form starts a new refund.
  let refundKey = null; let inFlight = false;
  const amountIn = h("input", { name: "amount", inputMode: "decimal", autocomplete: "off", "data-test": "refund-amount" });
  const reasonIn = h("select", { name: "reason", "data-test": "refund-reason" },
    ["requested_by_customer", "duplicate", "fraudulent"].map((r) => h("option", { value: r }, t(`reason_${r}`))));
  const refundBtn = h("button", { type: "submit", "data-test": "refund-submit" }, t("refund"));
  const keyNote = h("p.note", { "data-test": "refund-key" });
  const refundNote = h("p.note", { hidden: true }, t("refund_not_allowed"));
  const refundForm = h("form.filters", {
    "data-test": "refund-form",
    oninput: () => { refundKey = null; keyNote.textContent = ""; refundBtn.disabled = false; },
    onsubmit: async (e) => {
      e.preventDefault();
      if (inFlight) return;
      const body = { reason: reasonIn.value };
      if (amountIn.value.trim()) {
        const minor = parseMoney(amountIn.value, p.currency);
        if (minor === null) { actionsOut.replaceChildren(msg("error", `${t("amount")}?`)); amountIn.focus(); return; }
        body.amount = minor;
      }
      refundKey ||= newIdempotencyKey("refund");
      keyNote.textContent = t("idem_note", { k: refundKey });
      inFlight = true; refundBtn.disabled = true;
      let done = false;
      try {
        const r = await api("POST", `/v1/payments/${encodeURIComponent(p.id)}/refunds`, { idem: refundKey, body });
        actionsOut.replaceChildren(msg("ok", t("refund_done", { s: `${r.data.id} · ${t(`st_${r.data.status}`)}${r.replayed ? ` (${t("replayed")})` : ""}` })));
        // Done: the form starts over, so the next refund is a new one (a new key, no amount).
        // The button stays off until the form is edited: a stray click on an empty form would
        // otherwise refund everything left.
        refundForm.reset(); refundKey = null; keyNote.textContent = ""; done = true;
        await paint(r.data.payment);
      } catch (err) { actionsOut.replaceChildren(errorMsg(err)); } finally { inFlight = false; refundBtn.disabled = done; }
    },
  }, field(t("refund_amount"), amountIn), field(t("reason"), reasonIn), refundBtn);

  // Cancel (a route some servers don't have yet: a 404 "no such route" hides it).
  const cancelKey = newIdempotencyKey("cancel");
  const cancelBtn = h("button.danger", { type: "button", "data-test": "cancel" }, t("cancel"));
  const confirmBtn = h("button.danger", { type: "button", hidden: true, "data-test": "cancel-confirm" }, t("cancel_confirm"));
  const cancelBox = h("div.row", { hidden: true }, cancelBtn, confirmBtn);
  cancelBtn.addEventListener("click", () => { confirmBtn.hidden = false; confirmBtn.focus(); });
  confirmBtn.addEventListener("click", async () => {
    confirmBtn.disabled = true;
    try {
      const r = await api("POST", `/v1/payments/${encodeURIComponent(p.id)}/cancel`, { idem: cancelKey, body: {} });
      actionsOut.replaceChildren(msg("ok", t("canceled_ok"))); confirmBtn.hidden = true; await paint(r.data);
    } catch (e) {
      if (e.routeMissing) { sessionStorage.setItem("orch_no_cancel", "1"); cancelBox.replaceWith(msg("info", t("cancel_unavailable"))); }
      else actionsOut.replaceChildren(errorMsg(e));
    } finally { confirmBtn.disabled = false; }
  });

  ctx.main.replaceChildren(
    h("p", null, h("a", { href: "#/payments" }, `← ${t("back")}`)),
    h("h1.detail-title", null, `${t("detail")} `, h("code.id-text", { "data-test": "payment-id", title: p.id }, p.id), copyButton(p.id)),
    h("div.grid2", null,
      h("section.panel", { "aria-labelledby": "h-sum" }, h("h2#h-sum", null, t("detail")), summary),
      h("section.panel", { "aria-labelledby": "h-act" }, h("h2#h-act", null, t("refresh")),
        h("div.row", null, refreshBtn), actionsOut, h("h3", null, t("refund")), refundForm, refundNote, keyNote, cancelBox)),
    h("div.grid2", null,
      h("section.panel", { "aria-labelledby": "h-payer" }, h("h2#h-payer", null, t("payer")), payer),
      h("section.panel", { "aria-labelledby": "h-meta" }, h("h2#h-meta", null, t("metadata")), meta)),
    h("section.panel", { "aria-labelledby": "h-att" }, h("h2#h-att", null, t("attempts_timeline")), attempts),
    h("h2", null, t("refunds")), refunds,
    h("h2", null, t("events")), events);
  await paint(p);
}

// ---------- Routing ----------

function routingOf(gws) {
  const r = {};
  for (const m of METHODS) r[m] = gws.filter((g) => g.priority && g.priority[m]).sort((a, b) => a.priority[m] - b.priority[m]).map((g) => g.gateway);
  return r;
}
function describeChange(e) {
  const b = e.before && e.before.routing; const a = e.after && e.after.routing;
  if (a) return METHODS.filter((m) => JSON.stringify((b || {})[m]) !== JSON.stringify(a[m]))
    .map((m) => `${t(`method_${m}`)}: ${((b || {})[m] || []).join(", ")} → ${(a[m] || []).join(", ")}`).join("; ");
  return JSON.stringify(e.after ?? e.before ?? {}).slice(0, 160);
}
export async function auditTable(limit = 20) {
  const { data } = await api("GET", "/v1/audit", { query: { limit } });
  if (!data.data.length) return h("p.note", null, t("no_audit"));
  return table([t("at"), t("actor"), t("action"), t("change")], data.data.map((e) =>
    h("tr", { "data-audit": e.id, "data-action": e.action }, h("td", null, dt(e.at)), h("td", null, h("code", null, e.actor)),
      h("td", null, h("code", null, e.action)), h("td", { "data-test": "audit-change" }, describeChange(e)))), { label: t("audit") });
}

export async function routing(ctx) {
  const out = h("div", { "aria-live": "polite", "data-test": "routing-out" });
  const lists = h("div.grid2");
  const audit = h("div");
  const load = async () => {
    const [{ data }, aud] = await Promise.all([api("GET", "/v1/gateways"), auditTable()]);
    const gws = data.data; const byName = Object.fromEntries(gws.map((g) => [g.gateway, g]));
    const r = routingOf(gws);
    const save = async (method, order, focusSel) => {
      try {
        await api("PUT", "/v1/routing", { body: { [method]: order } });
        out.replaceChildren(msg("ok", t("routing_saved", { m: t(`method_${method}`), g: order.join(" → ") })));
        await load();
        if (focusSel) lists.querySelector(focusSel)?.focus();
      } catch (e) { out.replaceChildren(errorMsg(e)); }
    };
    lists.replaceChildren(...METHODS.map((m) => {
      const order = r[m];
      const others = gws.filter((g) => g.methods.includes(m) && !order.includes(g.gateway));
      const move = (i, d) => { const o = [...order]; [o[i], o[i + d]] = [o[i + d], o[i]]; return o; };
      return h("section.panel", { "data-method": m, "aria-labelledby": `h-r-${m}` }, h("h2", { id: `h-r-${m}` }, t(`method_${m}`)),
        h("ol.routing-list", null, order.map((g, i) => {
          const gw = byName[g];
          const sel = (a) => `[data-method="${m}"] li[data-gateway="${g}"] [data-action="${a}"]`;
          return h("li", { "data-gateway": g, "data-position": i + 1 },
            h("span.pos", { "aria-hidden": "true" }, i + 1), h("span.name", null, g),
            i === 0 ? badge("succeeded", t("primary")) : null,
            gw ? badge(gw.state, `${stateLabel(gw.state)} · ${pct(gw.failure_rate)}`) : null,
            h("span.actions", null,
              h("button.small", { type: "button", "data-action": "primary", disabled: i === 0, "aria-label": `${t("make_primary")}: ${g} (${m})`,
                onclick: () => save(m, [g, ...order.filter((x) => x !== g)], sel("up")) }, t("make_primary")),
              h("button.small.secondary", { type: "button", "data-action": "up", disabled: i === 0, "aria-label": `${t("up")}: ${g} (${m})`,
                onclick: () => save(m, move(i, -1), sel("up")) }, "↑"),
              h("button.small.secondary", { type: "button", "data-action": "down", disabled: i === order.length - 1, "aria-label": `${t("down")}: ${g} (${m})`,
                onclick: () => save(m, move(i, 1), sel("down")) }, "↓"),
              h("button.small.secondary", { type: "button", "data-action": "remove", disabled: order.length === 1, "aria-label": `${t("remove")}: ${g} (${m})`,
                onclick: () => save(m, order.filter((x) => x !== g)) }, "✕")));
        })),
        others.length ? h("p.note", null, `${t("not_in_routing")}: `, others.map((g) =>
          h("button.small.secondary", { type: "button", "data-action": "add", "data-gateway": g.gateway,
            onclick: () => save(m, [...order, g.gateway]) }, `+ ${g.gateway}`))) : null);
    }));
    audit.replaceChildren(aud);
  };
  ctx.main.replaceChildren(h("h1", null, t("routing_title")), h("p.note", null, t("routing_note")), out, lists,
    h("h2", null, t("audit")), audit);
  await load();
}

// ---------- Webhooks ----------

export async function webhooks(ctx) {
  const q = ctx.query;
  const EVENT_TYPES = ["payment.pending", "payment.requires_action", "payment.processing", "payment.succeeded", "payment.failed",
    "payment.canceled", "payment.expired", "payment.partially_refunded", "payment.refunded", "payment.overdue", "refund.succeeded", "refund.failed"];
  const stateSel = h("select", { name: "state", "data-test": "filter-state" }, h("option", { value: "" }, t("all")),
    ["pending", "delivered", "failed", "no_endpoint"].map((s) => h("option", { value: s, selected: q.get("state") === s }, t(`delivery_${s}`))));
  const pay = h("input", { name: "payment_id", value: q.get("payment_id") || "", "data-test": "filter-payment" });
  const form = h("form.filters.panel", {
    role: "search",
    onsubmit: (e) => {
      e.preventDefault();
      const nq = new URLSearchParams(); for (const [k, v] of new FormData(form).entries()) if (v) nq.set(k, v);
      location.hash = `#/webhooks${nq.toString() ? "?" + nq : ""}`;
    },
  }, field(t("type"), select("type", EVENT_TYPES, q.get("type"))), field(t("delivery_state"), stateSel), field(t("payment"), pay),
  h("button", { type: "submit" }, t("apply")));
  const body = h("div"); const more = h("button.secondary", { type: "button", "data-test": "load-more" }, t("load_more"));
  const tbody = h("tbody");
  let after; let done = false;
  const state = q.get("state");
  const loadMore = async () => {
    more.disabled = true;
    try {
      let got = 0;
      while (!done && got < 25) {
        const { data } = await api("GET", "/v1/events", { query: { type: q.get("type"), payment_id: q.get("payment_id"), limit: 100, starting_after: after } });
        const rows = data.data.filter((e) => !state || e.delivery.state === state);
        got += rows.length; tbody.append(...rows.map((e) => eventRow(e, true)));
        after = data.next_cursor; done = !data.has_more || !after;
      }
      if (!tbody.children.length) tbody.append(h("tr", null, h("td", { colSpan: 6 }, t("no_events"))));
      more.hidden = done;
    } catch (e) { body.replaceChildren(errorMsg(e)); } finally { more.disabled = false; }
  };
  more.addEventListener("click", loadMore);
  body.append(h("div.table-wrap", null, h("table", { "aria-label": t("webhooks_title"), "data-test": "events-table" },
    h("thead", null, h("tr", null, [t("created"), t("type"), t("payment"), t("delivery_state"), t("attempts"), ""].map((x, i) =>
      h(`th${i === 2 ? ".hide-sm" : ""}`, { scope: "col" }, x)))), tbody)));
  const endpoint = h("section.panel", { "data-test": "endpoint", "aria-labelledby": "h-endpoint" });
  ctx.main.replaceChildren(h("h1", null, t("webhooks_title")), endpoint, form, body, more);
  await Promise.all([endpointPanel(endpoint), loadMore()]);
}

// ---------- Usage ----------

export async function usage(ctx) {
  const now = new Date();
  const month = /^\d{4}-\d{2}$/.test(ctx.query.get("month") || "") ? ctx.query.get("month") : utcMonth(now);
  const [y, mo] = month.split("-").map(Number);
  const last = new Date(Date.UTC(y, mo, 0));
  const fromD = `${month}-01`; const toD = utcDay(last);
  const [m, series] = await Promise.all([
    api("GET", "/v1/usage", { query: { month } }),
    api("GET", "/v1/usage", { query: { from: fromD, to: toD, granularity: "day" } }),
  ]);
  const u = m.data; const days = series.data.data;
  const monthIn = h("input", { type: "month", value: month, "data-test": "usage-month", max: utcMonth(now) });
  const go = () => { if (monthIn.value) location.hash = `#/usage?month=${monthIn.value}`; };
  monthIn.addEventListener("change", go);
  const combos = []; // gateway × method columns present
  for (const [g, ms] of Object.entries(u.payments.by_gateway)) for (const mm of Object.keys(ms)) combos.push([g, mm]);
  const gwTable = table([t("gateway"), ...METHODS.map((x) => [t(`method_${x}`), "num"]), [t("total"), "num"]],
    Object.entries(u.payments.by_gateway).map(([g, ms]) => h("tr", { "data-gateway": g }, h("th", { scope: "row" }, g),
      METHODS.map((x) => h("td.num", { "data-method": x }, ms[x] || 0)), h("td.num", null, Object.values(ms).reduce((a, b) => a + b, 0)))),
    { label: t("by_gateway_method") });
  const volTable = table(["", [t("created_vol"), "num"], [t("succeeded_vol"), "num"], [t("refunded_vol"), "num"]],
    Object.entries(u.volume).map(([c, v]) => h("tr", { "data-currency": c }, h("th", { scope: "row" }, c),
      h("td.num", null, money(v.created, c)), h("td.num", null, money(v.succeeded, c)), h("td.num", null, money(v.refunded, c)))), { label: t("volume") });
  const statusTable = table([t("status"), [t("payments"), "num"]], Object.entries(u.payments.by_status).filter(([, n]) => n)
    .map(([s, n]) => h("tr", null, h("td", null, badge(s)), h("td.num", null, n))), { label: t("by_status") });
  const labels = days.map((d) => d.date.slice(8));
  const chart = barChart(labels, [
    { name: t("payments"), cls: "bar", values: days.map((d) => d.payments.total) },
    { name: t("succeeded"), cls: "bar2", values: days.map((d) => SUCCESS.reduce((a, k) => a + (d.payments.by_status[k] || 0), 0)) },
  ], `${t("daily")} ${month}`);
  const csvBtn = h("button.secondary", { type: "button", "data-test": "usage-csv" }, t("export_csv"));
  csvBtn.addEventListener("click", () => {
    const currencies = [...new Set(days.flatMap((d) => Object.keys(d.volume)))];
    csvDownload(`usage-${month}.csv`,
      ["date", "payments", "succeeded", "failed", "failovers", "refunds_succeeded", "callbacks_delivered", "callbacks_failed",
        ...combos.map(([g, mm]) => `${g}_${mm}`), ...currencies.flatMap((c) => [`${c}_created_minor`, `${c}_succeeded_minor`, `${c}_refunded_minor`])],
      days.map((d) => [d.date, d.payments.total, SUCCESS.reduce((a, k) => a + (d.payments.by_status[k] || 0), 0), d.payments.by_status.failed || 0,
        d.payments.failovers, d.refunds.succeeded, d.callbacks.delivered, d.callbacks.failed,
        ...combos.map(([g, mm]) => (d.payments.by_gateway[g] || {})[mm] || 0),
        ...currencies.flatMap((c) => { const v = d.volume[c] || {}; return [v.created || 0, v.succeeded || 0, v.refunded || 0]; })]));
  });
  ctx.main.replaceChildren(h("h1", null, t("usage_title")),
    h("div.row.panel", null, field(t("month"), monthIn), csvBtn,
      h("span.note", null, `${dt(u.period.start)} – ${dt(u.period.end)} · ${t(`period_${u.period.status}`)} · ${t("as_of", { d: dt(u.as_of) })}`)),
    summaryCards("usage", u),
    h("h2", null, t("daily")), h("div.panel", { "data-test": "usage-chart" }, chart),
    h("div.grid2", null,
      h("section", null, h("h2", null, t("by_gateway_method")), gwTable),
      h("section", null, h("h2", null, t("volume")), volTable, h("p.note", null, t("usage_volume_note")))),
    h("div.grid2", null,
      h("section", null, h("h2", null, t("by_status")), statusTable),
      h("section", null, h("h2", null, `${t("callbacks")} / ${t("webhooks_in")}`), h("div.cards", null,
        h("div.card", null, h("div.label", null, `${t("callbacks")} ${t("delivered").toLowerCase()}`), h("div.value", null, u.callbacks.delivered)),
        h("div.card", null, h("div.label", null, `${t("callbacks")} ${t("delivery_failed")}`), h("div.value", null, u.callbacks.failed)),
        h("div.card", null, h("div.label", null, t("webhooks_in")), h("div.value", null, u.webhooks.received)),
        h("div.card", null, h("div.label", null, t("refunds")), h("div.value", null, u.refunds.succeeded))))));
}
