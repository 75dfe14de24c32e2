//! A log of real domain events (carts being filled, products being created), made
//! by the aggregates' own `decide`, for measuring read-model rebuilds.

use chrono::Utc;
use cqrs_es::{Aggregate, DomainEvent};
use domain::cart::{Cart, CartCommand};
use domain::shared::{CartId, Currency, Money, Quantity, Sku};
use sqlx::PgPool;
use uuid::Uuid;

/// Appends `carts` carts of `lines` items each (1 + lines events per cart).
pub async fn fill_carts(pool: &PgPool, carts: usize, lines: usize) -> anyhow::Result<usize> {
    let eur = Currency::new("EUR")?;
    let metadata = r#"{"actor":"bench","actor_role":"customer","command":"add-item"}"#;
    let mut ids = Vec::new();
    let mut sequences = Vec::new();
    let mut types = Vec::new();
    let mut payloads = Vec::new();
    let mut written = 0;
    for cart in 0..carts {
        let cart_id = CartId::new(Uuid::from_u128(cart as u128 + 1));
        let mut aggregate = Cart::default();
        let mut commands = vec![CartCommand::OpenCart {
            cart_id,
            currency: eur,
            customer_id: None,
            opened_at: Utc::now(),
        }];
        for line in 0..lines {
            commands.push(CartCommand::AddItem {
                sku: Sku::new(format!("SKU-{line}"))?,
                name: format!("Product {line}"),
                unit_price: Money::new(199 + line as i64, eur),
                quantity: Quantity::new(1 + (line as u32 % 3))?,
            });
        }
        let mut sequence = 0;
        for command in commands {
            for event in aggregate
                .decide(command)
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                sequence += 1;
                ids.push(cart_id.to_string());
                sequences.push(sequence);
                types.push(event.event_type());
                payloads.push(serde_json::to_string(&event)?);
                aggregate.apply(event);
            }
        }
        if ids.len() >= 5000 || cart + 1 == carts {
            written += ids.len();
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 SELECT 'Cart', e.id, e.sequence, e.event_type, '1', e.payload::json, $5::json
                   FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[]) AS e(id, sequence, event_type, payload)",
            )
            .bind(std::mem::take(&mut ids))
            .bind(std::mem::take(&mut sequences))
            .bind(std::mem::take(&mut types))
            .bind(std::mem::take(&mut payloads))
            .bind(metadata)
            .execute(pool)
            .await?;
        }
    }
    Ok(written)
}
