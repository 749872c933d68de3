// Reconciliation: the runs (API and schedule) with what they found, a form to run one over a
// window, and a run's findings. Repairs are marked as written by the run; flags are not.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, dt, badge, errorMsg, msg, table } from "./ui.js";

const GATEWAYS = ["efi", "stripe", "asaas"];
const RUN_BADGE = { completed: "succeeded", partial: "pending", failed: "failed" };

function countOf(run) {
  return Object.values(run.counts || {}).reduce((a, n) => a + n, 0);
}

/** `datetime-local` value (local time) of a Date, and back to an ISO instant. */
const localValue = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
const isoOf = (v) => (v ? new Date(v).toISOString() : undefined);

function runRow(r) {
  return h("tr", { "data-run": r.id, "data-status": r.status },
    h("td", null, h("a", { href: `#/reconciliation/${encodeURIComponent(r.id)}` }, dt(r.started_at))),
    h("td", null, r.gateway),
    h("td.hide-sm", null, `${dt(r.from)} → ${dt(r.to)}`),
    h("td.hide-sm", null, t(`recon_trigger_${r.trigger}`)),
    h("td", null, badge(RUN_BADGE[r.status] || r.status, t(`recon_status_${r.status}`))),
    h("td.num", null, r.listed),
    h("td.num", { "data-test": "run-findings" }, countOf(r)));
}

function findingRow(f) {
  return h("tr", { "data-kind": f.kind, "data-repaired": String(f.repaired) },
    h("td", null, t(`recon_kind_${f.kind}`)),
    h("td", null, f.payment_id ? h("a", { href: `#/payments/${encodeURIComponent(f.payment_id)}` }, h("code", null, f.payment_id)) : "—"),
    h("td.hide-sm", null, h("code", null, f.gateway_payment_id)),
    h("td", null, f.detail),
    h("td", null, f.repaired ? t("recon_repaired") : t("recon_flagged")));
}

async function runDetail(ctx, id) {
  const { data: r } = await api("GET", `/v1/reconciliation/runs/${encodeURIComponent(id)}`);
  if (!ctx.isCurrent()) return;
  const counts = Object.entries(r.counts || {});
  ctx.main.replaceChildren(
    h("p", null, h("a", { href: "#/reconciliation" }, `← ${t("nav_reconciliation")}`)),
    h("h1", null, `${t("recon_run")} ${r.gateway}`),
    h("dl.kv", { "data-test": "run-detail" },
      h("dt", null, t("recon_window")), h("dd", null, `${dt(r.from)} → ${dt(r.to)}`),
      h("dt", null, t("state")), h("dd", null, badge(RUN_BADGE[r.status] || r.status, t(`recon_status_${r.status}`))),
      h("dt", null, t("recon_listed")), h("dd", null, `${r.listed} (${t("recon_foreign")}: ${r.foreign})`),
      r.error ? [h("dt", null, t("recon_error")), h("dd", null, r.error)] : null),
    counts.length ? h("p", { "data-test": "run-counts" }, counts.map(([k, n]) => `${t(`recon_kind_${k}`)}: ${n}`).join(" · "))
      : msg("info", t("recon_clean")),
    table([t("recon_kind"), t("payment"), [t("recon_gateway_id"), "hide-sm"], t("recon_detail"), t("recon_outcome")],
      (r.findings || []).map(findingRow), { label: t("recon_findings") }),
    r.findings_truncated ? h("p.note", null, t("recon_truncated")) : null);
}

export async function reconciliation(ctx) {
  if (ctx.parts[1]) return runDetail(ctx, ctx.parts[1]);
  const now = new Date();
  const from = h("input", { type: "datetime-local", name: "from", value: localValue(new Date(now - 86400000)), "data-test": "recon-from" });
  const to = h("input", { type: "datetime-local", name: "to", value: localValue(now), "data-test": "recon-to" });
  const gw = h("select", { name: "gateway", "data-test": "recon-gateway" }, h("option", { value: "" }, t("recon_all_gateways")),
    GATEWAYS.map((g) => h("option", { value: g }, g)));
  const out = h("div", { "aria-live": "polite" });
  const btn = h("button", { type: "submit" }, t("recon_start"));
  const form = h("form.filters.panel", {
    "data-test": "recon-form",
    onsubmit: async (e) => {
      e.preventDefault();
      btn.disabled = true; out.replaceChildren(msg("info", t("loading")));
      try {
        const body = { from: isoOf(from.value), to: isoOf(to.value) };
        if (gw.value) body.gateway = gw.value;
        const { data } = await api("POST", "/v1/reconciliation/runs", { body });
        const n = data.data.reduce((a, r) => a + countOf(r), 0);
        out.replaceChildren(msg(n ? "error" : "info", t("recon_done", { runs: data.data.length, n })));
        await ctx.rerender();
      } catch (err) { out.replaceChildren(errorMsg(err)); } finally { btn.disabled = false; }
    },
  }, h("label", null, t("gateway"), gw), h("label", null, t("recon_from"), from), h("label", null, t("recon_to"), to), btn);
  const { data } = await api("GET", "/v1/reconciliation/runs", { query: { limit: 50 } });
  if (!ctx.isCurrent()) return;
  ctx.main.replaceChildren(h("h1", null, t("nav_reconciliation")), h("p.note", null, t("recon_intro")), form, out,
    h("div", { "data-test": "runs-table" },
      table([t("recon_started"), t("gateway"), [t("recon_window"), "hide-sm"], [t("recon_trigger"), "hide-sm"], t("state"),
        [t("recon_listed"), "num"], [t("recon_findings"), "num"]], data.data.map(runRow), { label: t("nav_reconciliation") })));
}
