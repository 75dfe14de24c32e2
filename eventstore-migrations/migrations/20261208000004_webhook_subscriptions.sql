-- Webhook subscriptions: where to deliver which events. A table, not an event
-- stream: a subscription is operator configuration holding a signing secret,
-- which must be rotatable and destroyable, so it can never be in the immutable
-- log; what a subscription was sent is recorded by the deliveries themselves.
CREATE TABLE webhook_subscriptions
(
    subscription_id uuid PRIMARY KEY,
    url             text        NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- Empty arrays for both: every event.
    event_types     text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(event_types) <= 100),
    aggregate_types text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(aggregate_types) <= 100),
    -- The signing secret, sealed with PERSONAL_DATA_KEY's master key (nonce ‖
    -- XChaCha20-Poly1305, the subscription id as associated data); shown in the
    -- clear once, when made.
    secret_sealed   bytea       NOT NULL,
    enabled         boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
