//! Catalog commands (admin): create, update, re-price, publish, unpublish,
//! discontinue.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use commands::catalog::ClaimSku;
use domain::product::{Product, ProductCommand};
use domain::shared::{Money, ProductId, Sku};
use serde::Deserialize;
use uuid::Uuid;

use super::{Call, CommandContext};
use crate::auth::{Admins, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::MoneySchema;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// 1 to 64 ASCII letters, digits, `-`, `_` or `.`; unique in the catalog.
    #[schema(value_type = String, example = "MUG-001")]
    pub sku: Sku,
    pub name: String,
    pub description: String,
    pub category: String,
    pub brand: String,
    #[schema(value_type = MoneySchema)]
    pub price: Money,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    pub name: String,
    pub description: String,
    pub category: String,
    pub brand: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePrice {
    #[schema(value_type = MoneySchema)]
    pub price: Money,
}

#[utoipa::path(post, path = "/commands/products", tag = "commands",
    request_body = CreateProduct,
    responses((status = 201, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Json(body): Json<CreateProduct>,
) -> Result<Response, ApiError> {
    let product_id = ProductId::new(Uuid::new_v4());
    let claim = ClaimSku {
        sku: body.sku.clone(),
        product_id,
    };
    let command = ProductCommand::CreateProduct {
        product_id,
        sku: body.sku,
        name: body.name,
        description: body.description,
        category: body.category,
        brand: body.brand,
        price: body.price,
        attributes: body.attributes,
    };
    Call::<Product>::new(product_id, "create-product", command)
        .creating()
        .with_hook(&claim)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/products/{id}/update", tag = "commands",
    params(("id" = Uuid, Path)), request_body = UpdateProduct,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<UpdateProduct>,
) -> Result<Response, ApiError> {
    let command = ProductCommand::UpdateProductDetails {
        name: body.name,
        description: body.description,
        category: body.category,
        brand: body.brand,
        attributes: body.attributes,
    };
    Call::<Product>::new(id, "update", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/products/{id}/change-price", tag = "commands",
    params(("id" = Uuid, Path)), request_body = ChangePrice,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn change_price(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<ChangePrice>,
) -> Result<Response, ApiError> {
    let command = ProductCommand::ChangeProductPrice { price: body.price };
    Call::<Product>::new(id, "change-price", command)
        .send(&state, &context)
        .await
}

admin_command_without_body!(
    Product,
    publish,
    "/commands/products/{id}/publish",
    "publish",
    ProductCommand::PublishProduct
);
admin_command_without_body!(
    Product,
    unpublish,
    "/commands/products/{id}/unpublish",
    "unpublish",
    ProductCommand::UnpublishProduct
);
admin_command_without_body!(
    Product,
    discontinue,
    "/commands/products/{id}/discontinue",
    "discontinue",
    ProductCommand::DiscontinueProduct
);
