-- Idempotency records for commands sent with an `Idempotency-Key`: the same key and
-- request return the first answer and append nothing. Kept in PostgreSQL so they
-- survive restarts; expired rows are removed by the API.

CREATE TABLE idempotency_records
(
    -- Whose key it is (the actor's subject, or a guest cart token's owner): two
    -- clients choosing the same key never see each other's answers.
    scope           text        NOT NULL,
    idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- sha256 of method, path and body: the same key with another request is refused.
    fingerprint     bytea       NOT NULL,
    -- NULL while the first request is still running.
    response_status smallint,
    response_headers jsonb,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    expires_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (scope, idempotency_key)
);

CREATE INDEX idempotency_records_expires_at_idx ON idempotency_records (expires_at);
