//! `GET /v1/payments?gateway_payment_id=…`: the console's search by the id a gateway gave a
//! charge (what a payer or a gateway's dashboard shows). The id does not say which gateway it
//! is from, so each registered gateway's index is asked once — one indexed read per gateway
//! (three today), never a scan — and the other filters of the listing apply to what is found.
//! `GET /v1/payments?customer_document=…`: the search by the payer's CPF/CNPJ, a bounded read
//! of the newest payments (see [`DOCUMENT_SEARCH_WINDOW`]).

use super::Orchestrator;
use crate::adapters::memory::payment_matches as matches;
use crate::domain::{Document, Payment};
use crate::error::ApiError;
use crate::ports::{PaymentFilter, Tenant};

/// Longest gateway id accepted (gateways' ids are far shorter).
pub const MAX_GATEWAY_ID_CHARS: usize = 128;

impl Orchestrator {
    /// The tenant's payments (this key's mode only) that some gateway knows as
    /// `gateway_payment_id`, newest first, passing `filter`.
    pub(crate) async fn payments_by_gateway_id(
        &self,
        tenant: &Tenant,
        gateway_payment_id: &str,
        filter: &PaymentFilter,
    ) -> Result<Vec<Payment>, ApiError> {
        let mut found: Vec<Payment> = Vec::new();
        for name in self.gateways.names() {
            if let Some(p) = self
                .payments
                .find_by_gateway_ref(&tenant.id, name, gateway_payment_id)
                .await?
            {
                if matches(&p, filter) && !found.iter().any(|f| f.id == p.id) {
                    found.push(p);
                }
            }
        }
        found.sort_by(|a, b| b.id.as_str().cmp(a.id.as_str()));
        Ok(found)
    }
}

/// How many of the newest payments a search by customer document reads at most. Payments do
/// not carry an index on the document (that would be one more index write per payment, and the
/// document is personal data), so the search reads the newest payments page by page — at most
/// this many, i.e. ten list pages — and says in its answer that it stopped there.
pub const DOCUMENT_SEARCH_WINDOW: usize = 1_000;

/// What a search by customer document found, and whether it read the whole window.
pub(crate) struct DocumentSearch {
    pub items: Vec<Payment>,
    /// True when more matches may exist: one was found beyond `limit`, or the window ended
    /// before the tenant's oldest payment.
    pub truncated: bool,
}

impl Orchestrator {
    /// The tenant's payments (this key's mode only) whose customer has `document`, among the
    /// newest [`DOCUMENT_SEARCH_WINDOW`], newest first, at most `limit`, passing `filter`.
    pub(crate) async fn payments_by_customer_document(
        &self,
        tenant: &Tenant,
        document: &Document,
        filter: &PaymentFilter,
        limit: usize,
    ) -> Result<DocumentSearch, ApiError> {
        const PAGE: usize = 100;
        let mut items = Vec::new();
        let mut read = 0usize;
        let mut cursor = None;
        // The store is asked for plain pages (no filter): a filter there reads on until it has
        // a page of matches, which would not bound what the search reads. The other filters
        // apply here, on the pages read.
        let unfiltered = PaymentFilter::default();
        loop {
            let page = self
                .payments
                .list(&tenant.id, &unfiltered, PAGE, cursor.as_ref())
                .await?;
            read += page.items.len();
            for p in page.items {
                let same = p
                    .customer
                    .as_ref()
                    .and_then(|c| c.document.as_ref())
                    .is_some_and(|d| d == document)
                    && matches(&p, filter);
                if same {
                    if items.len() < limit {
                        items.push(p);
                    } else {
                        // A match beyond the limit: there is more.
                        return Ok(DocumentSearch {
                            items,
                            truncated: true,
                        });
                    }
                }
            }
            match page.next_cursor {
                None => {
                    return Ok(DocumentSearch {
                        items,
                        truncated: false,
                    })
                }
                Some(_) if read >= DOCUMENT_SEARCH_WINDOW => {
                    return Ok(DocumentSearch {
                        items,
                        truncated: true,
                    })
                }
                Some(c) => cursor = Some(c),
            }
        }
    }
}
