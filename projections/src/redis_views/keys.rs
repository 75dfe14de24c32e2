//! The names of the hot views' keys (the table in the [module docs](super)).

use super::HotView;

/// What follows the generation in the name of its checkpoint key.
pub(crate) const CHECKPOINT: &str = ":checkpoint";

/// Every key of the hot views, under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpace {
    prefix: String,
}

impl KeySpace {
    /// Keys under `prefix` (`commerce` gives `commerce:generation`, …).
    pub fn new(prefix: impl Into<String>) -> Self {
        KeySpace {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The generation readers use.
    pub(crate) fn generation(&self) -> String {
        format!("{}:generation", self.prefix)
    }

    /// The generation a rebuild is filling.
    pub(crate) fn building(&self) -> String {
        format!("{}:building", self.prefix)
    }

    /// The counter new generations take their number from.
    pub(crate) fn generations(&self) -> String {
        format!("{}:generations", self.prefix)
    }

    /// The checkpoint generation `generation` has applied every event up to.
    pub(crate) fn checkpoint(&self, generation: u64) -> String {
        format!("{}{generation}{CHECKPOINT}", self.generation_base())
    }

    /// The value of view `key` of kind `V` in `generation`.
    pub(crate) fn view<V: HotView>(&self, generation: u64, key: &str) -> String {
        format!(
            "{}{generation}{}",
            self.generation_base(),
            Self::view_suffix::<V>(key)
        )
    }

    /// What every key of a generation starts with, up to its number: the reader's
    /// script appends the generation it finds, then a suffix.
    pub(crate) fn generation_base(&self) -> String {
        format!("{}:g", self.prefix)
    }

    /// What follows the generation in the name of view `key` of kind `V`.
    pub(crate) fn view_suffix<V: HotView>(key: &str) -> String {
        format!(":{}:{key}", V::KIND)
    }

    /// A `SCAN` pattern matching every key of `generation`.
    pub(crate) fn generation_pattern(&self, generation: u64) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 24);
        for c in self.prefix.chars() {
            // A prefix may hold glob characters; they must match only themselves.
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(&format!(":g{generation}:*"));
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_models::carts::CartView;
    use crate::read_models::inventory::InventoryView;

    #[test]
    fn names_keys_under_the_prefix_and_generation() {
        let keys = KeySpace::new("shop");
        assert_eq!(keys.generation(), "shop:generation");
        assert_eq!(keys.checkpoint(3), "shop:g3:checkpoint");
        assert_eq!(keys.view::<CartView>(3, "c1"), "shop:g3:cart:c1");
        assert_eq!(
            keys.view::<InventoryView>(4, "SKU-1"),
            "shop:g4:inventory:SKU-1"
        );
    }

    #[test]
    fn a_generation_pattern_matches_only_its_own_prefix() {
        assert_eq!(KeySpace::new("a*b").generation_pattern(2), "a\\*b:g2:*");
    }
}
