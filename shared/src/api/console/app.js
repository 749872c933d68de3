// The console shell: login, navigation (hash routes), language switch.
import { api, getKey, setKey, clearKey, keyMode, keyOfMode, rememberKey, useKey, setUnauthorizedHandler } from "./api.js";
import { t, setLang, getLang, LANGS } from "./i18n.js";
import { h, msg } from "./ui.js";
import { overview, payments, paymentDetail, routing, webhooks, usage } from "./views.js";
import { settings } from "./settings.js";
import { reconciliation } from "./reconciliation.js";

const FLASH = "orch_flash";
const NAV = [["overview", overview], ["payments", payments], ["routing", routing], ["webhooks", webhooks],
  ["usage", usage], ["reconciliation", reconciliation], ["settings", settings]];
let cleanup = null;
let renderSeq = 0;

setUnauthorizedHandler(() => {
  // A 401 of a request sent without a key (a view still loading when the tab signed out) says
  // nothing new: the login page already shows, and drawing it again would lose what is typed.
  const had = getKey();
  if (had) sessionStorage.setItem(FLASH, "login_expired");
  clearKey();
  if (!location.hash.startsWith("#/login")) location.hash = "#/login";
  else if (had) render();
});

/** Which account this tab is looking at: the tenant's name (else its id) from
 *  `GET /v1/settings`, read once per key and mode for the tab's life. A server without that
 *  route shows no name (the mode badge still says test or live). */
async function identity(mode) {
  const slot = `orch_ident_${mode}`;
  const known = sessionStorage.getItem(slot);
  if (known !== null) return known;
  let name = "";
  try {
    const { data } = await api("GET", "/v1/settings");
    name = (data && (data.name || data.tenant_id)) || "";
  } catch (e) { if (e.status === 401) return ""; } // the 401 handler signs out
  sessionStorage.setItem(slot, name);
  return name;
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, qs] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs || "") };
}

function langSelect() {
  const id = `lang-${Math.random().toString(36).slice(2, 7)}`;
  return h("span", null, h("label.sr-only", { for: id }, t("language")),
    h("select", { id, "data-test": "lang", onchange: (e) => { setLang(e.target.value); render(); } },
      LANGS.map(([v, name]) => h("option", { value: v, selected: v === getLang() }, name))));
}

function loginPage(app, switching) {
  document.title = `${t("login_title")} · ${t("title")}`;
  const flash = sessionStorage.getItem(FLASH);
  sessionStorage.removeItem(FLASH);
  const input = h("input#login-key", { type: "password", name: "key", autocomplete: "off", required: true, spellcheck: "false" });
  const out = h("div", { "aria-live": "polite" }, flash ? msg("error", t(flash)) : null);
  const btn = h("button", { type: "submit" }, t("login_submit"));
  const form = h("form", {
    "data-test": "login-form",
    onsubmit: async (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      btn.disabled = true; out.replaceChildren(msg("info", t("loading")));
      try {
        await api("GET", "/v1/gateways", { key, quiet401: true });
        // Switching modes keeps the key of the mode switched from (the toggle goes back to it
        // without a sign-in); a plain sign-in starts over.
        const from = switching === "live" ? "test" : "live";
        const keep = switching ? keyOfMode(from) : null;
        clearKey();
        setKey(key);
        const mode = await keyMode(key);
        if (keep && mode !== from) rememberKey(keep, from);
        useKey(key, mode);
        location.hash = "#/overview";
      } catch (err) {
        out.replaceChildren(msg("error", err.status === 401 ? t("login_bad") : `${err.status} ${err.message}`));
      } finally { btn.disabled = false; }
    },
  }, h("label", { for: "login-key" }, t("login_key"), input), btn, h("p.note", null, t("login_hint")));
  const hint = switching ? msg("info", t(`switch_sign_in_${switching}`)) : null;
  if (hint) hint.dataset.test = "switch-hint";
  app.replaceChildren(h("main#main.login", null,
    h("div.panel", null, h("div.row", null, h("h1", null, t("title")), langSelect()),
      h("h2", null, t("login_title")), hint, out, form)));
  input.focus();
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const app = document.getElementById("app");
  const { parts, query } = parseHash();
  const switching = ["test", "live"].includes(query.get("switch")) ? query.get("switch") : null;
  if (!getKey() || parts[0] === "login") {
    if (getKey() && parts[0] === "login" && !switching) { location.hash = "#/overview"; return; }
    loginPage(app, switching);
    return;
  }
  const mode = await keyMode();
  if (seq !== renderSeq) return;
  const section = NAV.find(([n]) => n === parts[0]) ? parts[0] : "overview";
  const main = h("main#main", { tabindex: "-1" });
  const nav = h("nav.main", { "aria-label": "main" }, h("ul", null, NAV.map(([n]) =>
    h("li", null, h("a", { href: `#/${n}`, "aria-current": n === section ? "page" : null, "data-nav": n }, t(`nav_${n}`))))));
  // The mode follows the key signed in with: every list shows that mode's data only.
  const badge = h(`span.mode.mode-${mode}`, { "data-test": "mode", "data-mode": mode }, t(`mode_${mode}`));
  const banner = mode === "test"
    ? h("div.test-banner", { role: "note", "data-test": "test-mode-banner" }, t("test_mode_banner")) : null;
  // The toggle: the other mode's key if this tab signed in with it, else its sign-in.
  const other = mode === "test" ? "live" : "test";
  const toggle = h("button.secondary.small", {
    type: "button", "data-test": "mode-toggle", "aria-label": t(`switch_to_${other}`),
    onclick: () => {
      const k = keyOfMode(other);
      if (k) { useKey(k, other); render(); } else location.hash = `#/login?switch=${other}`;
    },
  }, t(`switch_to_${other}`));
  const who = h("span.tenant", { "data-test": "tenant" }, await identity(mode));
  if (seq !== renderSeq) return;
  const header = h("header.top", null, h("span.brand", null, t("title")), who, badge, toggle, langSelect(),
    h("button.secondary.small", { type: "button", "data-test": "logout", onclick: () => { clearKey(); location.hash = "#/login"; } }, t("logout")));
  app.replaceChildren(...[banner, header, nav, main].filter(Boolean));
  document.title = `${t(`nav_${section}`)} · ${t("title")}`;
  main.append(h("p.loading", { role: "status" }, t("loading")));
  const ctx = {
    main, parts, query, rerender: render,
    isCurrent: () => seq === renderSeq,
    setCleanup: (f) => { cleanup = f; },
  };
  let view = NAV.find(([n]) => n === section)[1];
  if (section === "payments" && parts[1]) view = paymentDetail;
  try {
    await view(ctx);
  } catch (e) {
    if (seq !== renderSeq || e.status === 401) return;
    const { errorMsg } = await import("./ui.js");
    main.replaceChildren(errorMsg(e));
  }
}

window.addEventListener("hashchange", render);
// Module scripts run once the document is parsed.
render();
