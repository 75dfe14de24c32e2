//! Catalog commands (admin): create, update, re-price, publish, unpublish,
//! discontinue.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use commands::catalog::ClaimSku;
use commands::CommandOptions;
use domain::product::ProductCommand;
use domain::shared::{Money, ProductId, Sku};
use serde::Deserialize;
use uuid::Uuid;

use super::{answer, respond, run, send, CommandContext, Extras};
use crate::auth::Role;
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

/// An empty body, `{}` (or no body at all).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[utoipa::path(post, path = "/commands/products", tag = "commands",
    request_body = CreateProduct,
    responses((status = 201, body = super::CommandAccepted), (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    context: CommandContext,
    Json(body): Json<CreateProduct>,
) -> Result<Response, ApiError> {
    context.principal()?.require(&[Role::Admin])?;
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
    let options = CommandOptions {
        new_aggregate: true,
        ..CommandOptions::default()
    };
    let extras = Extras::default();
    let executed = run(
        &state.stores.products,
        &context,
        &product_id.to_string(),
        "create-product",
        command,
        options,
        &extras,
        Some(&claim),
    )
    .await?;
    Ok(respond(answer(&executed, &extras)))
}

async fn product_command(
    state: &AppState,
    context: &CommandContext,
    id: Uuid,
    name: &str,
    command: ProductCommand,
) -> Result<Response, ApiError> {
    context.principal()?.require(&[Role::Admin])?;
    send(
        &state.stores.products,
        context,
        &id.to_string(),
        name,
        command,
        CommandOptions::default(),
        Extras::default(),
    )
    .await
}

#[utoipa::path(post, path = "/commands/products/{id}/update", tag = "commands",
    params(("id" = Uuid, Path)), request_body = UpdateProduct,
    responses((status = 200, body = super::CommandAccepted), (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
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
    product_command(&state, &context, id, "update", command).await
}

#[utoipa::path(post, path = "/commands/products/{id}/change-price", tag = "commands",
    params(("id" = Uuid, Path)), request_body = ChangePrice,
    responses((status = 200, body = super::CommandAccepted), (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn change_price(
    State(state): State<AppState>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<ChangePrice>,
) -> Result<Response, ApiError> {
    let command = ProductCommand::ChangeProductPrice { price: body.price };
    product_command(&state, &context, id, "change-price", command).await
}

macro_rules! bodiless_command {
    ($handler:ident, $path:literal, $name:literal, $command:expr) => {
        #[utoipa::path(post, path = $path, tag = "commands",
            params(("id" = Uuid, Path)),
            responses((status = 200, body = super::CommandAccepted), (status = "4XX", body = crate::error::Problem)),
            security(("bearer" = [])))]
        pub async fn $handler(
            State(state): State<AppState>,
            context: CommandContext,
            Path(id): Path<Uuid>,
        ) -> Result<Response, ApiError> {
            product_command(&state, &context, id, $name, $command).await
        }
    };
}

bodiless_command!(
    publish,
    "/commands/products/{id}/publish",
    "publish",
    ProductCommand::PublishProduct
);
bodiless_command!(
    unpublish,
    "/commands/products/{id}/unpublish",
    "unpublish",
    ProductCommand::UnpublishProduct
);
bodiless_command!(
    discontinue,
    "/commands/products/{id}/discontinue",
    "discontinue",
    ProductCommand::DiscontinueProduct
);
