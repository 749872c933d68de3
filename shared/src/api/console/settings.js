// Settings: the callback URL and its test event, API keys, callback secret rotation, gateway
// credentials (where the server has them).
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, dt, badge, errorMsg, msg, table } from "./ui.js";

const CRED_FIELDS = {
  stripe: [["secret_key", true], ["webhook_secret", false], ["base_url", false]],
  asaas: [["api_key", true], ["webhook_token", false], ["base_url", false]],
  efi: [["client_id", true], ["client_secret", true], ["certificate_p12", true], ["pix_key", true], ["base_url", false]],
};

function shownOnce(label, value) {
  const code = h("code", { "data-test": "shown-once" }, value);
  const copy = h("button.small.secondary", { type: "button" }, t("copy"));
  const note = h("span.note", { role: "status" });
  copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(value); note.textContent = t("copied"); } catch { note.textContent = ""; }
  });
  return h("div.secret", { role: "status" }, h("p", null, h("strong", null, label)), code, " ", copy, note);
}

async function keysSection(box) {
  const { data } = await api("GET", "/v1/api_keys");
  const out = h("div", { "aria-live": "polite" });
  const days = h("input", { type: "number", min: 1, max: 3650, name: "expires_in_days", "data-test": "key-days" });
  const create = h("form.filters", {
    "data-test": "key-create",
    onsubmit: async (e) => {
      e.preventDefault();
      const body = days.value ? { expires_in_days: Number(days.value) } : {};
      try {
        const r = await api("POST", "/v1/api_keys", { body });
        await keysSection(box);
        box.prepend(shownOnce(t("key_shown_once"), r.data.key));
      } catch (err) { out.replaceChildren(errorMsg(err)); }
    },
  }, h("label", { for: "key-days" }, t("expires_in_days"), Object.assign(days, { id: "key-days" })),
  h("button", { type: "submit" }, t("create_key")));
  const rows = data.data.map((k) => {
    const revoke = h("button.small.danger", { type: "button", "data-test": "revoke", disabled: data.data.length === 1 }, t("revoke"));
    revoke.addEventListener("click", async () => {
      if (revoke.dataset.armed !== "1") { revoke.dataset.armed = "1"; revoke.textContent = t("revoke_confirm", { k: k.masked || k.id }); return; }
      try { await api("DELETE", `/v1/api_keys/${encodeURIComponent(k.id)}`); await keysSection(box); }
      catch (err) { out.replaceChildren(errorMsg(err)); }
    });
    return h("tr", { "data-key": k.id }, h("td", null, h("code", null, k.masked || k.id), k.current ? [" ", badge("succeeded", t("current"))] : null),
      h("td.hide-sm", null, dt(k.created_at)), h("td", null, k.expires_at ? dt(k.expires_at) : "—"), h("td.hide-sm", null, k.last_used || "—"), h("td", null, revoke));
  });
  box.replaceChildren(table([t("masked"), [t("created"), "hide-sm"], t("expires"), [t("last_used"), "hide-sm"], ""], rows, { label: t("api_keys") }), create, out);
}

async function secretsSection(box) {
  const { data } = await api("GET", "/v1/webhook_secrets");
  const out = h("div", { "aria-live": "polite" });
  const grace = h("input#grace", { type: "number", min: 0, max: 168, value: "24", name: "grace_hours" });
  const form = h("form.filters", {
    "data-test": "secret-rotate",
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await api("POST", "/v1/webhook_secrets/rotate", { body: { grace_hours: Number(grace.value || 24) } });
        await secretsSection(box);
        box.prepend(shownOnce(t("secret_shown_once"), r.data.secret));
      } catch (err) { out.replaceChildren(errorMsg(err)); }
    },
  }, h("label", { for: "grace" }, t("grace_hours"), grace), h("button", { type: "submit" }, t("rotate")));
  box.replaceChildren(table([t("masked"), t("state"), t("expires")], data.data.map((s) =>
    h("tr", null, h("td", null, h("code", null, s.masked)), h("td", null, s.current ? badge("succeeded", t("current")) : "—"),
      h("td", null, s.expires_at ? dt(s.expires_at) : "—"))), { label: t("secrets") }), form, out);
}

// The callback URL (GET/PATCH /v1/settings) and "Send test event" (POST /v1/webhook_endpoint/test),
// whose answer is the delivery itself: shown as delivered or failed, with status, time and error.
async function callbackSection(box, note) {
  const { data } = await api("GET", "/v1/settings");
  const out = h("div", { "aria-live": "polite" });
  const result = h("div", { "data-test": "callback-test-result", "aria-live": "polite" });
  const input = h("input#callback-url", { type: "url", name: "callback_url", value: data.callback_url || "", size: 48,
    autocomplete: "off", spellcheck: "false", "data-test": "callback-input" });
  const save = async (url) => {
    try { await api("PATCH", "/v1/settings", { body: { callback_url: url } }); await callbackSection(box, msg("ok", t("saved"))); }
    catch (err) { out.replaceChildren(errorMsg(err)); }
  };
  const form = h("form.filters", {
    "data-test": "callback-form",
    onsubmit: (e) => { e.preventDefault(); save(input.value.trim() || null); },
  }, h("label", { for: "callback-url" }, t("cb_url"), input), h("button", { type: "submit" }, t("save")),
  data.callback_url ? h("button.secondary", { type: "button", "data-test": "callback-clear", onclick: () => save(null) }, t("cb_remove")) : null);
  const test = h("button.secondary", { type: "button", "data-test": "callback-test", disabled: !data.callback_url }, t("cb_test"));
  test.addEventListener("click", async () => {
    test.disabled = true;
    result.replaceChildren(msg("info", t("cb_sending")));
    try {
      const r = (await api("POST", "/v1/webhook_endpoint/test", { body: {} })).data;
      const d = r.delivery;
      result.replaceChildren(h("dl.kv", null,
        h("dt", null, t("state")), h("dd", { "data-test": "callback-test-state" },
          badge(d.delivered ? "delivered" : "failed", t(d.delivered ? "cb_delivered" : "cb_failed"))),
        h("dt", null, "URL"), h("dd", null, h("code", null, d.url)),
        h("dt", null, t("cb_status")), h("dd", { "data-test": "callback-test-status" }, d.response_status ?? "—"),
        h("dt", null, t("cb_duration")), h("dd", { "data-test": "callback-test-duration" }, `${d.duration_ms} ms`),
        d.error ? [h("dt", null, t("cb_error")), h("dd", { "data-test": "callback-test-error" }, h("code", null, d.error))] : null,
        h("dt", null, t("cb_event")), h("dd", { "data-test": "callback-test-event" }, h("code", null, r.event.id))));
    } catch (err) { result.replaceChildren(errorMsg(err)); } finally { test.disabled = false; }
  });
  box.replaceChildren(h("p.note", null, t("cb_intro")),
    h("dl.kv", null, h("dt", null, t("cb_current")), h("dd", { "data-test": "callback-current" },
      data.callback_url ? h("code", null, data.callback_url) : t("cb_none"))),
    form, h("div.row", null, test), note || null, out, result);
}

function credForm(gateway, onSaved) {
  const inputs = CRED_FIELDS[gateway].map(([name, required]) => {
    const id = `cred-${gateway}-${name}`;
    const input = h("input", { id, name, type: name === "base_url" || name === "pix_key" || name === "client_id" ? "text" : "password",
      required, autocomplete: "off", spellcheck: "false" });
    return h("label", { for: id }, `${name}${required ? " *" : ""}`, input);
  });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form.filters", {
    "data-test": `cred-form-${gateway}`,
    onsubmit: async (e) => {
      e.preventDefault();
      const body = {}; for (const [k, v] of new FormData(form).entries()) if (v) body[k] = v;
      try { await api("PUT", `/v1/gateways/${gateway}/credentials`, { body }); form.reset(); onSaved(t("saved")); }
      catch (err) { out.replaceChildren(errorMsg(err)); }
    },
  }, inputs, h("button", { type: "submit" }, t("save")), out);
  return form;
}

async function credentialsSection(box) {
  const gws = (await api("GET", "/v1/gateways")).data.data.map((g) => g.gateway);
  const parts = [];
  for (const g of gws) {
    const out = h("div", { "aria-live": "polite" });
    const reload = async (note) => { await credentialsSection(box); if (note) box.prepend(msg("ok", `${g}: ${note}`)); };
    let view;
    try {
      view = (await api("GET", `/v1/gateways/${g}/credentials`)).data;
    } catch (e) {
      if (e.routeMissing) { box.replaceChildren(msg("info", t("credentials_unavailable"))); box.dataset.available = "0"; return; }
      if (e.status !== 404) { parts.push(h("section.panel", null, h("h3", null, g), errorMsg(e))); continue; }
      view = null;
    }
    const section = h("section.panel", { "data-cred": g }, h("h3", null, g));
    if (!view) {
      section.append(h("p.note", { "data-test": "cred-none" }, t("no_credentials")),
        h("details", null, h("summary", null, t("register")), credForm(g, reload)));
    } else {
      const verify = h("button.small.secondary", { type: "button", "data-test": "cred-verify" }, t("verify"));
      verify.addEventListener("click", async () => {
        verify.disabled = true;
        try {
          const r = (await api("POST", `/v1/gateways/${g}/credentials/verify`)).data;
          out.replaceChildren(r.ok ? msg("ok", t("verify_ok")) : msg("error", t("verify_bad", { e: r.error ? `${r.error.class} ${r.error.code}: ${r.error.message}` : "?" })));
        } catch (err) { out.replaceChildren(errorMsg(err)); } finally { verify.disabled = false; }
      });
      const del = h("button.small.danger", { type: "button", "data-test": "cred-delete" }, t("delete"));
      del.addEventListener("click", async () => {
        if (del.dataset.armed !== "1") { del.dataset.armed = "1"; del.textContent = t("delete_confirm", { g }); return; }
        try { await api("DELETE", `/v1/gateways/${g}/credentials`); await reload(t("saved")); } catch (err) { out.replaceChildren(errorMsg(err)); }
      });
      section.append(h("dl.kv", null,
        Object.entries(view.credentials || {}).map(([k, v]) => [h("dt", null, k), h("dd", null, h("code", null, v))]),
        h("dt", null, t("version")), h("dd", { "data-test": "cred-version" }, view.version),
        h("dt", null, t("updated")), h("dd", null, dt(view.updated_at)),
        h("dt", null, t("live")), h("dd", null, view.live ? badge("succeeded", t("live")) : t("simulator"))),
      h("div.row", null, verify, del), out,
      h("details", null, h("summary", null, t("replace")), credForm(g, reload)));
    }
    parts.push(section);
  }
  box.dataset.available = "1";
  box.replaceChildren(...parts);
}

export async function settings(ctx) {
  const callback = h("div", { "data-test": "callback" });
  const keys = h("div", { "data-test": "keys" }); const secrets = h("div", { "data-test": "secrets" }); const creds = h("div", { "data-test": "credentials" });
  ctx.main.replaceChildren(h("h1", null, t("settings_title")),
    h("section.panel", { "aria-labelledby": "h-callback" }, h("h2#h-callback", null, t("cb_title")), callback),
    h("section.panel", { "aria-labelledby": "h-keys" }, h("h2#h-keys", null, t("api_keys")), keys),
    h("section.panel", { "aria-labelledby": "h-sec" }, h("h2#h-sec", null, t("secrets")), secrets),
    h("section", { "aria-labelledby": "h-cred" }, h("h2#h-cred", null, t("credentials")), creds));
  const guard = (p, box) => p.catch((e) => { if (e.status !== 401) box.replaceChildren(errorMsg(e)); });
  await Promise.all([guard(callbackSection(callback), callback), guard(keysSection(keys), keys), guard(secretsSection(secrets), secrets), guard(credentialsSection(creds), creds)]);
}
