// The tenant's callback endpoint as the worker sees it (GET /v1/webhook_endpoint): healthy,
// failing since when (the next probe, the last error), or disabled after days of failures —
// with the button that enables it again and resends the backlog.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, dt, badge, errorMsg, msg } from "./ui.js";

const KIND = { healthy: "succeeded", failing: "pending", disabled: "failed" };

export async function endpointPanel(box, note) {
  // No callback URL (GET /v1/settings says so): nothing to ask the endpoint route about, whose
  // answer would be a 404 in the browser's log.
  try {
    const { data } = await api("GET", "/v1/settings");
    if (data && data.callback_url === null) {
      box.replaceChildren(h("h2#h-endpoint", null, t("endpoint")), h("p.note", { "data-test": "endpoint-none" }, t("endpoint_none")));
      return;
    }
  } catch { /* a server without the route: ask the endpoint route below */ }
  let v;
  try {
    v = (await api("GET", "/v1/webhook_endpoint")).data;
  } catch (e) {
    if (e.status === 404 || e.routeMissing) {
      box.replaceChildren(h("h2#h-endpoint", null, t("endpoint")), h("p.note", { "data-test": "endpoint-none" }, t("endpoint_none")));
      return;
    }
    box.replaceChildren(h("h2#h-endpoint", null, t("endpoint")), errorMsg(e));
    return;
  }
  const out = h("div", { "aria-live": "polite" });
  const parts = [h("h2#h-endpoint", null, t("endpoint")),
    h("dl.kv", null,
      h("dt", null, "URL"), h("dd", null, h("code", null, v.url)),
      h("dt", null, t("state")), h("dd", { "data-test": "endpoint-state" }, badge(KIND[v.state] || "", t(`endpoint_${v.state}`))),
      v.failing_since ? [h("dt", null, t("endpoint_failing_since")), h("dd", null, dt(v.failing_since), ` (${v.failures})`)] : null,
      v.next_attempt_at && v.state === "failing" ? [h("dt", null, t("endpoint_next")), h("dd", null, dt(v.next_attempt_at))] : null,
      v.disabled_at ? [h("dt", null, t("endpoint_disabled_at")), h("dd", null, dt(v.disabled_at))] : null,
      v.last_error ? [h("dt", null, t("endpoint_last_error")), h("dd", null, h("code", null, v.last_error))] : null)];
  if (v.state === "disabled") parts.push(msg("error", t("endpoint_disabled_note")));
  if (v.state !== "healthy") {
    const enable = h("button", { type: "button", "data-test": "endpoint-enable" }, t("endpoint_enable"));
    enable.addEventListener("click", async () => {
      enable.disabled = true;
      try {
        // A backlog longer than one call is resent in several, each from the last one's cursor.
        let r = (await api("POST", "/v1/webhook_endpoint/enable")).data;
        let n = r.resent;
        for (let i = 0; r.more_backlog && i < 20; i++) {
          r = (await api("POST", "/v1/webhook_endpoint/enable", { query: { starting_after: r.next_cursor } })).data;
          n += r.resent;
        }
        await endpointPanel(box, msg("ok", t(r.more_backlog ? "endpoint_resent_more" : "endpoint_resent", { n })));
      } catch (err) { out.replaceChildren(errorMsg(err)); enable.disabled = false; }
    });
    parts.push(h("div.row", null, enable));
  }
  parts.push(out);
  if (note) parts.push(h("div", { "data-test": "endpoint-note" }, note));
  box.replaceChildren(...parts);
}
