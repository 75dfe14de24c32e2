//! The router: every route of the API, and the layers all of them share.

pub mod audit;
pub mod auth;
pub mod commands;
pub mod health;
pub mod metrics;
pub mod queries;
pub mod webhooks;

use axum::body::{to_bytes, Body};
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{header, HeaderName};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::{authenticate, refuse_invalid_tokens};
use crate::error::ApiError;
use crate::extract::BODY_LIMIT;
use crate::idempotency::idempotency;
use crate::openapi::{ApiDoc, DOCS_PAGE};
use crate::rate_limit;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Problem bodies are small; anything larger is passed through untouched.
const PROBLEM_BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    use self::commands::{
        carts as c, customers as cust, inventory as i, orders as o, payments as pay, products as p,
        promotions as promo, returns as r, shipping_and_tax as ship,
    };
    let commands = Router::new()
        .route("/commands/products", post(p::create))
        .route("/commands/products/{id}/update", post(p::update))
        .route(
            "/commands/products/{id}/change-price",
            post(p::change_price),
        )
        .route("/commands/products/{id}/publish", post(p::publish))
        .route("/commands/products/{id}/unpublish", post(p::unpublish))
        .route("/commands/products/{id}/discontinue", post(p::discontinue))
        .route("/commands/inventory/{sku}/register", post(i::register))
        .route("/commands/inventory/{sku}/receive", post(i::receive))
        .route("/commands/inventory/{sku}/adjust", post(i::adjust))
        .route(
            "/commands/webhook-subscriptions",
            post(self::commands::webhook_subscriptions::create),
        )
        .route(
            "/commands/webhook-subscriptions/{id}/disable",
            post(self::commands::webhook_subscriptions::disable),
        )
        .route(
            "/commands/webhook-subscriptions/{id}/enable",
            post(self::commands::webhook_subscriptions::enable),
        )
        .route("/commands/customers", post(cust::register))
        .route("/commands/customers/{id}/erase", post(cust::erase))
        .route(
            "/commands/customers/{id}/verify-email",
            post(cust::verify_email),
        )
        .route(
            "/commands/customers/{id}/change-email",
            post(cust::change_email),
        )
        .route(
            "/commands/customers/{id}/change-name",
            post(cust::change_name),
        )
        .route(
            "/commands/customers/{id}/addresses",
            post(cust::add_address),
        )
        .route(
            "/commands/customers/{id}/addresses/{address_id}/change",
            post(cust::change_address),
        )
        .route(
            "/commands/customers/{id}/addresses/{address_id}/remove",
            post(cust::remove_address),
        )
        .route(
            "/commands/customers/{id}/addresses/{address_id}/make-default",
            post(cust::make_default_address),
        )
        .route("/commands/customers/{id}/close", post(cust::close))
        .route("/commands/carts", post(c::open))
        .route("/commands/carts/{id}/add-item", post(c::add_item))
        .route(
            "/commands/carts/{id}/change-quantity",
            post(c::change_quantity),
        )
        .route("/commands/carts/{id}/remove-item", post(c::remove_item))
        .route(
            "/commands/carts/{id}/attach-customer",
            post(c::attach_customer),
        )
        .route("/commands/carts/{id}/checkout", post(c::checkout))
        .route("/commands/carts/{id}/apply-coupon", post(c::apply_coupon))
        .route("/commands/carts/{id}/remove-coupon", post(c::remove_coupon))
        .route("/commands/promotions", post(promo::create))
        .route("/commands/promotions/{id}/change", post(promo::change))
        .route("/commands/promotions/{id}/schedule", post(promo::schedule))
        .route("/commands/promotions/{id}/pause", post(promo::pause))
        .route("/commands/promotions/{id}/resume", post(promo::resume))
        .route("/commands/promotions/{id}/end", post(promo::end))
        .route("/commands/shipping-methods", post(ship::define))
        .route("/commands/shipping-methods/{id}/change", post(ship::change))
        .route("/commands/shipping-methods/{id}/retire", post(ship::retire))
        .route(
            "/commands/tax-rates/{country}/set",
            post(ship::set_tax_rates),
        )
        .route("/commands/carts/{id}/abandon", post(c::abandon))
        .route("/commands/orders/{id}/ship", post(o::ship))
        .route("/commands/orders/{id}/deliver", post(o::deliver))
        .route(
            "/commands/orders/{id}/erase-guest-data",
            post(o::erase_guest_data),
        )
        .route("/commands/orders/{id}/cancel", post(o::cancel))
        .route("/commands/orders/{id}/cancel-lines", post(o::cancel_lines))
        .route("/commands/orders/{id}/refunds", post(o::refund))
        .route("/commands/orders/{id}/edit", post(o::edit))
        .route("/commands/orders/{id}/returns", post(r::request))
        .route(
            "/commands/orders/{id}/returns/{return_id}/approve",
            post(r::approve),
        )
        .route(
            "/commands/orders/{id}/returns/{return_id}/reject",
            post(r::reject),
        )
        .route(
            "/commands/orders/{id}/returns/{return_id}/receive",
            post(r::receive),
        )
        .route("/commands/payments/{id}/refund", post(pay::refund))
        .route_layer(middleware::from_fn_with_state(
            state.pool.clone(),
            idempotency,
        ));
    let queries = Router::new()
        .route("/queries/carts/{id}", get(queries::carts::get))
        .route("/queries/customers/{id}", get(queries::customers::get))
        .route(
            "/queries/webhook-subscriptions",
            get(self::commands::webhook_subscriptions::list),
        )
        .route("/queries/orders", get(queries::orders::list))
        .route("/queries/orders/{id}", get(queries::orders::get))
        .route("/queries/returns", get(queries::orders::returns))
        .route("/queries/inventory", get(queries::inventory::list))
        .route("/queries/inventory/{sku}", get(queries::inventory::get))
        .route("/queries/payments", get(queries::payments::list))
        .route("/queries/products", get(queries::products::list))
        .route("/queries/products/search", get(queries::search::search))
        .route("/queries/products/suggest", get(queries::search::suggest))
        .route("/queries/products/{id}", get(queries::products::get))
        .route(
            "/queries/shipping-methods",
            get(queries::shipping_and_tax::list_shipping_methods),
        )
        .route("/queries/sales", get(queries::sales::report))
        .route(
            "/queries/tax-rates",
            get(queries::shipping_and_tax::list_tax_rates),
        );
    let audit = Router::new()
        .route("/audit/events", get(audit::events))
        .route("/audit/events/stream", get(audit::live::follow))
        .route("/audit/streams/{type}/{id}", get(audit::stream))
        .route("/audit/verify", get(audit::verify));
    Router::new()
        .merge(commands)
        .merge(queries)
        .merge(audit)
        .route("/webhooks/payments", post(webhooks::payments))
        .route("/auth/sign-in", post(auth::sign_in))
        .route("/auth/sign-in/external", post(auth::sign_in_external))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/sign-out", post(auth::sign_out))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(|| async { axum::response::Html(DOCS_PAGE) }))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(refuse_invalid_tokens))
        .layer(middleware::from_fn_with_state(
            state.rate_limiter.clone(),
            rate_limit::limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            authenticate,
        ))
        .layer(middleware::from_fn(add_request_id_to_problems))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi;
    axum::Json(ApiDoc::openapi())
}

/// Puts the request id into every problem body, so a client can quote it.
async fn add_request_id_to_problems(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    let Some(request_id) = request_id.filter(|_| is_problem) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, PROBLEM_BODY_LIMIT).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut problem)) => {
            problem.insert("request_id".into(), request_id.into());
            serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
