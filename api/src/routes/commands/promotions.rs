//! Promotion commands (admin): create, change, schedule, pause, resume, end. A
//! promotion's coupon code is claimed when it is created; another promotion with
//! the same code (in any case) is a 409 `coupon_code_taken`.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use commands::promotions::ClaimPromotion;
use domain::pricing::{PromotionId, Window};
use domain::promotion::{Promotion, PromotionCommand, PromotionDefinition};
use serde::Deserialize;
use uuid::Uuid;

use super::{Call, CommandContext};
use crate::auth::{Admins, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::AppState;

/// A promotion's definition. `action` is one of
/// `{"type": "percent_off_order" | "percent_off_lines", "basis_points": 1..=10000}`,
/// `{"type": "fixed_off_order", "amount": Money}`,
/// `{"type": "fixed_off_lines", "amount_per_unit": Money}`, `{"type": "free_shipping"}`,
/// `{"type": "buy_x_get_y", "buy": 1..=100, "get": 1..=100, "basis_points": 1..=10000}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionBody {
    #[schema(min_length = 1, max_length = 200, example = "Winter sale")]
    pub name: String,
    /// 3 to 32 ASCII letters, digits, `-` or `_`, compared without regard to
    /// case; absent: the promotion applies by itself wherever its conditions hold.
    #[schema(value_type = Option<String>, min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_-]{3,32}$")]
    #[serde(default)]
    pub code: Option<domain::pricing::CouponCode>,
    /// `{minimum_subtotal: Money, lines: {skus: [], categories: [], brands: []}, first_order_only: bool}`,
    /// each optional; at most 100 entries per list.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub conditions: domain::pricing::Conditions,
    #[schema(value_type = Object)]
    pub action: domain::pricing::Action,
    /// `{priority: integer ≥ 0 (lower first), exclusive: bool}`.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub stacking: domain::pricing::Stacking,
    /// `{starts_at, ends_at}`, RFC 3339 timestamps, each optional.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub window: Window,
    #[schema(minimum = 1)]
    #[serde(default)]
    pub usage_limit: Option<u32>,
    #[schema(minimum = 1)]
    #[serde(default)]
    pub per_customer_limit: Option<u32>,
}

impl From<PromotionBody> for PromotionDefinition {
    fn from(body: PromotionBody) -> Self {
        PromotionDefinition {
            name: body.name,
            code: body.code,
            conditions: body.conditions,
            action: body.action,
            stacking: body.stacking,
            window: body.window,
            usage_limit: body.usage_limit,
            per_customer_limit: body.per_customer_limit,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default)]
    pub starts_at: Option<chrono::DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<chrono::DateTime<Utc>>,
}

#[utoipa::path(post, path = "/commands/promotions", tag = "commands",
    request_body = PromotionBody,
    responses((status = 201, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Json(body): Json<PromotionBody>,
) -> Result<Response, ApiError> {
    let promotion_id = PromotionId::new(super::orders::new_id(&context, b"promotion"));
    let definition = PromotionDefinition::from(body);
    let claim = ClaimPromotion {
        promotion_id,
        code: definition.code.clone(),
    };
    let command = PromotionCommand::CreatePromotion {
        promotion_id,
        definition,
        created_at: Utc::now(),
    };
    Call::<Promotion>::new(promotion_id, "create-promotion", command)
        .creating()
        .with_hook(&claim)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/promotions/{id}/change", tag = "commands",
    params(("id" = Uuid, Path)), request_body = PromotionBody,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn change(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<PromotionBody>,
) -> Result<Response, ApiError> {
    let command = PromotionCommand::ChangePromotion {
        definition: body.into(),
    };
    Call::<Promotion>::new(id, "change-promotion", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/promotions/{id}/schedule", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Schedule,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn schedule(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<Schedule>,
) -> Result<Response, ApiError> {
    let command = PromotionCommand::SchedulePromotion {
        window: Window {
            starts_at: body.starts_at,
            ends_at: body.ends_at,
        },
    };
    Call::<Promotion>::new(id, "schedule-promotion", command)
        .send(&state, &context)
        .await
}

admin_command_without_body!(
    Promotion,
    pause,
    "/commands/promotions/{id}/pause",
    "pause-promotion",
    PromotionCommand::PausePromotion {}
);
admin_command_without_body!(
    Promotion,
    resume,
    "/commands/promotions/{id}/resume",
    "resume-promotion",
    PromotionCommand::ResumePromotion {}
);
admin_command_without_body!(
    Promotion,
    end,
    "/commands/promotions/{id}/end",
    "end-promotion",
    PromotionCommand::EndPromotion {
        ended_at: Utc::now()
    }
);
