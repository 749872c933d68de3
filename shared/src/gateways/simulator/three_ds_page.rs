//! The 3DS page a simulated card payment's `next_action.url` leads to on the dev server: what
//! the card issuer's challenge page is for a real payment. Plain HTML with one form and two
//! buttons — no script, no inline style — so it runs under a CSP that allows nothing but
//! posting the form back to the same origin.

use crate::domain::{PaymentId, PaymentStatus};

/// The page's address under the dev server's public URL.
pub fn url(base: &str, payment_id: &PaymentId) -> String {
    format!("{base}/simulator/3ds/{}", payment_id.as_str())
}

/// Served with every page answer: nothing may load, the form may only post to this origin,
/// and no other site may frame the page.
pub const CSP: &str =
    "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Text for HTML: the five characters that could open markup, escaped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page for `payment_id`: the challenge (two buttons) while the payment awaits it, else
/// where the payment stands.
pub fn render(payment_id: &PaymentId, amount: &str, status: PaymentStatus) -> String {
    let id = escape(payment_id.as_str());
    let body = if status == PaymentStatus::RequiresAction {
        format!(
            "<p>Simulated card authentication for payment <code>{id}</code> ({}).</p>\n\
             <form method=\"post\" action=\"/simulator/3ds/{id}\">\n\
             <button type=\"submit\" name=\"outcome\" value=\"complete\">Complete</button>\n\
             <button type=\"submit\" name=\"outcome\" value=\"fail\">Fail</button>\n\
             </form>",
            escape(amount)
        )
    } else {
        format!(
            "<p>Payment <code>{id}</code> is <strong id=\"status\">{status}</strong>; there is no \
             authentication left to do.</p>"
        )
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>3-D Secure (simulator)</title>\n</head>\n<body>\n<h1>3-D Secure (simulator)</h1>\n\
         {body}\n<p>Dev server only: a test-mode payment, no card is charged.</p>\n</body>\n</html>\n"
    )
}

/// The page for an id that names no test-mode payment.
pub fn not_found() -> String {
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
     <title>3-D Secure (simulator)</title>\n</head>\n<body>\n\
     <p>No test-mode card payment awaits authentication under this address.</p>\n</body>\n</html>\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_has_two_buttons_and_no_script() {
        let id = PaymentId::parse("pay_01J9ZQ4M3K8D2B6X7Y5W0V1T2S").unwrap();
        let page = render(&id, "BRL 19.57", PaymentStatus::RequiresAction);
        assert!(page.contains("value=\"complete\">Complete</button>"));
        assert!(page.contains("value=\"fail\">Fail</button>"));
        assert!(page.contains("action=\"/simulator/3ds/pay_01J9ZQ4M3K8D2B6X7Y5W0V1T2S\""));
        assert!(!page.contains("<script") && !page.contains("style"));
        let done = render(&id, "BRL 19.57", PaymentStatus::Succeeded);
        assert!(done.contains(">succeeded<") && !done.contains("<form"));
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert_eq!(
            url("http://127.0.0.1:8080", &id),
            "http://127.0.0.1:8080/simulator/3ds/pay_01J9ZQ4M3K8D2B6X7Y5W0V1T2S"
        );
    }
}
