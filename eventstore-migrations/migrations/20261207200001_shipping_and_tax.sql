-- Read models of the ShippingMethod and TaxRates aggregates. The checkout reads
-- the chosen method and the destination's rates from their streams, as stored;
-- these tables serve the lists (what a storefront offers, what an admin sees) and
-- whether any method ships to a destination at all.

CREATE TABLE read_shipping_methods
(
    method_id  uuid PRIMARY KEY,
    currency   text        NOT NULL,
    retired    boolean     NOT NULL,
    countries  text[]      NOT NULL,
    doc        jsonb       NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

-- "The methods shipping to DE": a shop has a few methods, but each lists up to
-- 250 countries; the GIN index answers `$1 = ANY(countries)` written as `@>`.
CREATE INDEX read_shipping_methods_countries_idx ON read_shipping_methods USING gin (countries);

CREATE TABLE read_tax_rates
(
    country    text PRIMARY KEY,
    doc        jsonb       NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);
