-- Promotions as the command side finds them. Both tables are written in the
-- transaction of a promotion's PromotionCreated event, like product_skus: a coupon
-- code can never lead to two promotions, and a promotion is listed the moment it
-- exists, without waiting for a read model.

-- Every promotion, and whether it applies by itself (no coupon code): pricing
-- loads the automatic ones for every cart change.
CREATE TABLE promotions_index
(
    promotion_id uuid        PRIMARY KEY,
    automatic    boolean     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX promotions_index_automatic ON promotions_index (promotion_id) WHERE automatic;

-- Coupon codes, upper-cased (codes compare without regard to case), unique.
CREATE TABLE promotion_codes
(
    code         text        PRIMARY KEY
                             CHECK (code = upper(code) AND length(code) BETWEEN 3 AND 32),
    promotion_id uuid        NOT NULL UNIQUE REFERENCES promotions_index (promotion_id),
    claimed_at   timestamptz NOT NULL DEFAULT now()
);
