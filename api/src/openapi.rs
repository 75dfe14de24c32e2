//! The OpenAPI 3 document, generated from the handlers' annotations, served at
//! `/openapi.json`, with a browsable UI at `/docs`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes::{audit, auth, commands, health, metrics, queries, webhooks};

/// Money on the wire: integer minor units and an ISO 4217 code; never a float.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MoneySchema {
    #[schema(example = 1999)]
    amount: i64,
    #[schema(example = "EUR")]
    currency: String,
}

/// A shipping address; `country` is ISO 3166-1 alpha-2.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AddressSchema {
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    postal_code: String,
    region: Option<String>,
    #[schema(example = "DE")]
    country: String,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Commerce backend", description = "Commands and queries of the event-sourced commerce backend. Errors are RFC 9457 problem details with `code` and `request_id`."),
    paths(
        commands::products::create, commands::products::update, commands::products::change_price,
        commands::products::publish, commands::products::unpublish, commands::products::discontinue,
        commands::inventory::register, commands::inventory::receive, commands::inventory::adjust,
        commands::carts::open, commands::carts::add_item, commands::carts::change_quantity,
        commands::carts::remove_item, commands::carts::attach_customer, commands::carts::checkout,
        commands::carts::abandon, commands::carts::apply_coupon, commands::carts::remove_coupon,
        commands::promotions::create, commands::promotions::change, commands::promotions::schedule,
        commands::promotions::pause, commands::promotions::resume, commands::promotions::end,
        commands::shipping_and_tax::define, commands::shipping_and_tax::change,
        commands::shipping_and_tax::retire, commands::shipping_and_tax::set_tax_rates,
        commands::orders::ship, commands::orders::deliver, commands::orders::erase_guest_data, commands::orders::cancel,
        commands::orders::cancel_lines, commands::orders::refund, commands::orders::edit,
        commands::returns::request, commands::returns::approve, commands::returns::reject,
        commands::returns::receive,
        commands::payments::refund,
        commands::webhook_subscriptions::create, commands::webhook_subscriptions::disable,
        commands::webhook_subscriptions::enable, commands::webhook_subscriptions::list,
        commands::customers::register, commands::customers::erase,
        commands::customers::verify_email, commands::customers::change_email,
        commands::customers::change_name, commands::customers::add_address,
        commands::customers::change_address, commands::customers::remove_address,
        commands::customers::make_default_address, commands::customers::close,
        auth::sign_in, auth::sign_in_external, auth::refresh, auth::sign_out,
        queries::carts::get, queries::customers::get, queries::orders::get, queries::orders::list, queries::orders::returns,
        queries::inventory::get, queries::inventory::list, queries::payments::list,
        queries::products::get, queries::products::list,
        queries::search::search, queries::search::suggest,
        queries::shipping_and_tax::list_shipping_methods, queries::shipping_and_tax::list_tax_rates,
        queries::sales::report,
        audit::events, audit::live::follow, audit::stream, audit::verify,
        health::live, health::ready, metrics::metrics,
        webhooks::payments,
    ),
    components(schemas(crate::error::Problem, MoneySchema, AddressSchema,
        audit::AuditEventSchema, audit::AuditPageSchema, audit::StreamHistorySchema,
        audit::BrokenEventSchema, audit::VerdictSchema)),
    modifiers(&BearerAuth, &ProblemResponses),
    tags((name = "commands", description = "Change something: answered with the aggregate's id, version and a consistency token"),
         (name = "queries", description = "Read a read model; send `X-Consistency-Token` to read your own writes"),
         (name = "audit", description = "Auditors and analysts: the event log with its metadata, a stream's past state, the hash-chain check, the log live"),
         (name = "operations", description = "Health and metrics for orchestrators"),
         (name = "webhooks", description = "Signed callbacks from the payment gateway"),
         (name = "auth", description = "Customers sign in: an access token of 15 minutes and a refresh token that rotates on every use")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The problem answers every route shares, declared here once: a 4XX for what the
/// caller sent or may not do, a 5XX for a dependency down (503, with
/// `Retry-After`) or a fault of ours. Both are RFC 9457 problem bodies.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (status, description) in [
                    ("4XX", "A problem with the request: see `code`"),
                    (
                        "5XX",
                        "A dependency is down (503, retry after `Retry-After`) or a fault of ours",
                    ),
                ] {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description).into());
                }
            }
        }
    }
}

/// The browsable UI: Swagger UI from a CDN, pointed at `/openapi.json`.
pub const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Commerce backend API</title>
  <link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
  <div id="ui"></div>
  <script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
  <script>SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" });</script>
</body>
</html>
"##;
