-- The `sales` read model: revenue, discounts, tax and units per UTC day, in total
-- and by product, category and promotion. Rows only ever grow by the figures of
-- new events (one upsert per batch); a rebuild fills a copy beside it.

CREATE TABLE read_sales
(
    day              date   NOT NULL,
    dimension        text   NOT NULL CHECK (dimension IN ('total', 'product', 'category', 'promotion')),
    key              text   NOT NULL,
    currency         text   NOT NULL,
    label            text   NOT NULL,
    orders           bigint NOT NULL,
    units            bigint NOT NULL,
    gross            bigint NOT NULL,
    discounts        bigint NOT NULL,
    tax              bigint NOT NULL,
    revenue          bigint NOT NULL,
    refunded         bigint NOT NULL,
    cancelled_orders bigint NOT NULL,
    -- A report reads one dimension over a range of days.
    PRIMARY KEY (dimension, day, key, currency)
);
