//! Promotions as the command side reads them for pricing: the automatic ones and
//! those of a cart's coupons, read from the Promotion aggregates themselves (like
//! the catalog), so a pause or an end takes effect without projector lag; and the
//! claim of a promotion's code in the transaction that creates it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::cart::{CartState, PricingContext};
use domain::pricing::{
    CouponCode, CustomerFacts, Delivery, ProductFacts, PromotionId, PromotionOffer,
};
use domain::promotion::{Promotion, PromotionState};
use domain::shared::{CustomerId, Sku};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::catalog::Catalog;
use crate::error::StoreError;
use crate::execute::Executed;
use crate::store::{AggregateStore, AppendHook};

/// How long the list of automatic promotions is kept before it is read again:
/// a promotion created on another instance applies here within this time. Each
/// promotion's own state (paused, ended, changed) is read from its aggregate.
const AUTOMATIC_LIST_TTL: Duration = Duration::from_secs(1);

pub struct Promotions {
    store: Arc<AggregateStore<Promotion>>,
    automatic: Mutex<Option<(Instant, Arc<Vec<PromotionId>>)>>,
    /// Automatic promotions seen ended: ending is final, so they are not loaded
    /// again for every cart change.
    ended: Mutex<BTreeSet<PromotionId>>,
}

/// Whether to read each promotion as stored (a checkout) or as cached (a cart
/// being filled, re-checked at checkout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Cached,
    Stored,
}

impl Promotions {
    pub fn new(store: Arc<AggregateStore<Promotion>>) -> Self {
        Promotions {
            store,
            automatic: Mutex::new(None),
            ended: Mutex::new(BTreeSet::new()),
        }
    }

    async fn automatic_ids(&self) -> Result<Arc<Vec<PromotionId>>, StoreError> {
        if let Some((at, ids)) = self.automatic.lock().ok().and_then(|a| a.clone()) {
            if at.elapsed() < AUTOMATIC_LIST_TTL {
                return Ok(ids);
            }
        }
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT promotion_id FROM promotions_index WHERE automatic ORDER BY promotion_id",
        )
        .fetch_all(self.store.pool())
        .await?;
        let ids = Arc::new(ids.into_iter().map(PromotionId::new).collect::<Vec<_>>());
        if let Ok(mut cached) = self.automatic.lock() {
            *cached = Some((Instant::now(), ids.clone()));
        }
        Ok(ids)
    }

    /// The promotion's state, if it exists.
    pub async fn state(
        &self,
        id: PromotionId,
        freshness: Freshness,
    ) -> Result<Option<PromotionState>, StoreError> {
        let id = id.to_string();
        let loaded = match freshness {
            Freshness::Cached => self.store.load(&id).await?.0,
            Freshness::Stored => Arc::new(self.store.load_stored(&id).await?),
        };
        Ok(loaded.aggregate.state().cloned())
    }

    /// The promotion whose coupon code is `code`, if any.
    pub async fn by_code(
        &self,
        code: &CouponCode,
        freshness: Freshness,
    ) -> Result<Option<PromotionState>, StoreError> {
        let id: Option<Uuid> =
            sqlx::query_scalar("SELECT promotion_id FROM promotion_codes WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(self.store.pool())
                .await?;
        match id {
            Some(id) => self.state(PromotionId::new(id), freshness).await,
            None => Ok(None),
        }
    }

    /// Every promotion that may apply to a cart with `coupons`: the automatic
    /// ones, and those of the codes. Ended ones are left out.
    pub async fn candidates(
        &self,
        coupons: &BTreeSet<CouponCode>,
        freshness: Freshness,
    ) -> Result<Vec<PromotionState>, StoreError> {
        let mut states = Vec::new();
        for id in self.automatic_ids().await?.iter() {
            if self.ended.lock().is_ok_and(|ended| ended.contains(id)) {
                continue;
            }
            if let Some(state) = self.state(*id, freshness).await? {
                if state.status == domain::pricing::PromotionStatus::Ended {
                    if let Ok(mut ended) = self.ended.lock() {
                        ended.insert(*id);
                    }
                }
                states.push(state);
            }
        }
        for code in coupons {
            if let Some(state) = self.by_code(code, freshness).await? {
                states.push(state);
            }
        }
        states.retain(|s| s.status != domain::pricing::PromotionStatus::Ended);
        Ok(states)
    }

    /// Whether the customer has never placed an order (a guest: no).
    async fn first_order(&self, customer: Option<CustomerId>) -> Result<bool, StoreError> {
        let Some(customer) = customer else {
            return Ok(false);
        };
        let any: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM read_orders WHERE customer_id = $1 LIMIT 1")
                .bind(customer.as_uuid())
                .fetch_optional(self.store.pool())
                .await?;
        Ok(any.is_none())
    }

    /// What pricing `cart` needs, with `added` (a SKU about to be added, and
    /// its facts) and `extra` (a promotion to consider, such as a coupon's).
    pub async fn context(
        &self,
        catalog: &Catalog,
        cart: &CartState,
        added: Option<(&Sku, &ProductFacts)>,
        freshness: Freshness,
        delivery: Option<Delivery>,
    ) -> Result<PricingContext, StoreError> {
        let states = self.candidates(&cart.coupons, freshness).await?;
        let customer = cart.customer_id;
        let promotions: Vec<PromotionOffer> =
            states.iter().map(|s| s.offer_for(customer)).collect();
        // Facts serve line filters and tax categories only: a cart change with
        // neither to price looks up no product (add-item's hot path).
        let needs_facts = delivery.is_some()
            || promotions
                .iter()
                .any(|p| !p.conditions.lines.is_everything());
        let mut facts: BTreeMap<Sku, ProductFacts> = if needs_facts {
            let skus: BTreeSet<&Sku> = cart.lines.iter().map(|l| &l.sku).collect();
            catalog.facts(skus).await?
        } else {
            BTreeMap::new()
        };
        if let Some((sku, added)) = added {
            facts.insert(sku.clone(), added.clone());
        }
        let first_order = if promotions.iter().any(|p| p.conditions.first_order_only) {
            self.first_order(customer).await?
        } else {
            false
        };
        Ok(PricingContext {
            promotions,
            facts,
            customer: CustomerFacts { first_order },
            at: chrono::Utc::now(),
            delivery,
        })
    }

    /// Of `ids`, those with a usage limit: their uses are redeemed at checkout.
    pub async fn limited(&self, ids: &[PromotionId]) -> Result<Vec<PromotionId>, StoreError> {
        let mut limited = Vec::new();
        for id in ids {
            if let Some(state) = self.state(*id, Freshness::Cached).await? {
                let definition = &state.definition;
                if definition.usage_limit.is_some() || definition.per_customer_limit.is_some() {
                    limited.push(*id);
                }
            }
        }
        Ok(limited)
    }
}

/// Lists a new promotion and claims its code inside the transaction of its
/// PromotionCreated. A code claimed before fails the append on
/// `promotion_codes_pkey`.
pub struct ClaimPromotion {
    pub promotion_id: PromotionId,
    pub code: Option<CouponCode>,
}

#[async_trait::async_trait]
impl AppendHook for ClaimPromotion {
    async fn within(&self, tx: &mut PgConnection, _: &Executed) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO promotions_index (promotion_id, automatic) VALUES ($1, $2)")
            .bind(self.promotion_id.as_uuid())
            .bind(self.code.is_none())
            .execute(&mut *tx)
            .await?;
        if let Some(code) = &self.code {
            sqlx::query("INSERT INTO promotion_codes (code, promotion_id) VALUES ($1, $2)")
                .bind(code.as_str())
                .bind(self.promotion_id.as_uuid())
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}
