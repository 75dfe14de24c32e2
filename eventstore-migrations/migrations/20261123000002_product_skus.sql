-- Which product owns a SKU. Written in the transaction that appends the product's
-- ProductCreated event, so two products can never claim one SKU, and a cart line's
-- SKU leads to exactly one product without waiting for a read model.
CREATE TABLE product_skus
(
    sku           text PRIMARY KEY CHECK (length(sku) BETWEEN 1 AND 64),
    product_id    uuid        NOT NULL UNIQUE,
    registered_at timestamptz NOT NULL DEFAULT now()
);
