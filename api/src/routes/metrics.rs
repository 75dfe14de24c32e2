//! Prometheus metrics: each projector's lag, progress and state.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use projections::runtime::{projector_lags, ProjectorState};

use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition: projector lag and state", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let lags = projector_lags(&state.pool)
        .await
        .map_err(|_| ApiError::Unavailable("the database is unreachable".into()))?;
    let here = state.projectors.snapshot();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, values: &mut dyn Iterator<Item = (String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (projector, value) in values {
            let _ = writeln!(out, "{name}{{projector=\"{projector}\"}} {value}");
        }
    };
    gauge(
        "commerce_projector_positions_behind",
        "Log positions between the head and the projector's checkpoint.",
        &mut lags
            .iter()
            .map(|l| (l.projector.clone(), l.positions_behind as f64)),
    );
    gauge(
        "commerce_projector_seconds_behind",
        "Age of the oldest committed event the projector has not applied.",
        &mut lags.iter().map(|l| (l.projector.clone(), l.seconds_behind)),
    );
    gauge(
        "commerce_projector_events_applied",
        "Events applied since the projector last started from zero.",
        &mut lags
            .iter()
            .map(|l| (l.projector.clone(), l.events_applied as f64)),
    );
    gauge(
        "commerce_projector_failed",
        "1 when the projector stopped on an event it could not handle.",
        &mut lags.iter().map(|l| {
            (
                l.projector.clone(),
                f64::from(u8::from(l.failure.is_some())),
            )
        }),
    );
    gauge(
        "commerce_projector_active",
        "1 when this process holds the projector's lock and applies events.",
        &mut here.iter().map(|(name, s)| {
            (
                name.clone(),
                f64::from(u8::from(*s == ProjectorState::Active)),
            )
        }),
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
