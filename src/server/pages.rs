//! Read-only pages for editors, rendered on the server (no JavaScript needed).

use std::sync::Arc;

use axum::Router;

use super::Shared;

/// The policy of every API response: nothing may load, nothing may frame it.
pub(crate) const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
}
