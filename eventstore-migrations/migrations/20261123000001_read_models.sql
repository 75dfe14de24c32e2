-- The document read models: one row per aggregate, built by the projectors named
-- `products`, `inventory`, `carts`, `orders` and `payments`
-- (projections::read_models). Every table has the same shape:
--   - the key (the aggregate's id);
--   - a few typed columns copied out of the view, for filters and keyset pages;
--   - doc: the whole view as the API returns it;
--   - position: global_position of the last event folded in;
--   - updated_at: recorded_at of that event.
-- A projector rewrites a row for every event of its aggregate. fillfactor 80 leaves
-- room on each page so that a rewrite which changes no indexed column is a HOT
-- update (no index is touched); rebuilds and busy carts depend on it.
-- Reset (rebuild) truncates the table in the transaction that rewinds the
-- projector's checkpoint.

CREATE TABLE read_products
(
    product_id uuid PRIMARY KEY,
    sku        text        NOT NULL,
    category   text        NOT NULL,
    status     text        NOT NULL,
    created_at timestamptz NOT NULL,
    doc        jsonb       NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
) WITH (fillfactor = 80);

-- The command side looks prices up by SKU (find_by_sku, find_by_skus). Not unique:
-- the catalog does not forbid two products with one SKU, and a read model must not
-- refuse what the log holds.
CREATE INDEX read_products_sku_idx ON read_products (sku);
-- The unfiltered catalog list, newest first: keyset pages walk this index.
CREATE INDEX read_products_created_idx ON read_products (created_at DESC, product_id);
-- The same list within one category (the storefront's category pages).
CREATE INDEX read_products_category_idx ON read_products (category, created_at DESC, product_id);
-- The same list by status (admins: drafts to review, discontinued products).
CREATE INDEX read_products_status_idx ON read_products (status, created_at DESC, product_id);

CREATE TABLE read_inventory
(
    sku        text PRIMARY KEY,
    low_stock  boolean     NOT NULL,
    available  bigint      NOT NULL,
    doc        jsonb       NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
) WITH (fillfactor = 80);

-- The primary key serves the list ordered by SKU. This partial index holds only
-- the SKUs at or below their threshold, so "what must be reordered" reads a few
-- entries; `available` is deliberately not indexed: it moves with every
-- reservation, and an index on it would turn those HOT updates into index writes.
CREATE INDEX read_inventory_low_stock_idx ON read_inventory (sku) WHERE low_stock;

CREATE TABLE read_carts
(
    cart_id     uuid PRIMARY KEY,
    customer_id uuid,
    status      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    doc         jsonb       NOT NULL,
    position    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL
) WITH (fillfactor = 80);

-- "This customer's open cart" (open_cart_of): the newest row of (customer, 'open').
-- Guest carts (no customer) are most carts and never looked up this way, so they
-- are left out of the index.
CREATE INDEX read_carts_customer_status_idx ON read_carts (customer_id, status, created_at DESC)
    WHERE customer_id IS NOT NULL;

CREATE TABLE read_orders
(
    order_id    uuid PRIMARY KEY,
    customer_id uuid,
    status      text        NOT NULL,
    placed_at   timestamptz NOT NULL,
    doc         jsonb       NOT NULL,
    position    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL
) WITH (fillfactor = 80);

-- The admins' list of all orders, newest first (keyset pages).
CREATE INDEX read_orders_placed_idx ON read_orders (placed_at DESC, order_id);
-- A customer's order history, newest first. Guest orders have no customer and are
-- never listed by one, so they are left out.
CREATE INDEX read_orders_customer_idx ON read_orders (customer_id, placed_at DESC, order_id)
    WHERE customer_id IS NOT NULL;
-- Orders in one status, newest first (the warehouse's "confirmed" queue, say).
CREATE INDEX read_orders_status_idx ON read_orders (status, placed_at DESC, order_id);

CREATE TABLE read_payments
(
    payment_id uuid PRIMARY KEY,
    order_id   uuid        NOT NULL,
    created_at timestamptz NOT NULL,
    doc        jsonb       NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
) WITH (fillfactor = 80);

-- An order's payments, oldest first (list_for_order): a failed payment and the one
-- that followed it.
CREATE INDEX read_payments_order_idx ON read_payments (order_id, created_at, payment_id);
