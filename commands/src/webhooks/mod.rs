//! Outgoing webhooks (issue "Outgoing webhooks and customer notifications"):
//! begun with what every part of them needs first, the check that an endpoint
//! may be called at all ([`endpoint`]).

pub mod endpoint;
pub mod subscriptions;
