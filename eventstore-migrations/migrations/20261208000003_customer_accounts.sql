-- What customer accounts need beside their events. None of it holds personal data
-- in the clear: a customer's e-mail address is known here only by its keyed hash,
-- and erasing the customer deletes their rows.

-- Which customer has an e-mail address: claimed in the transaction that records
-- CustomerRegistered (or CustomerEmailChanged), so two accounts never share one.
-- `email_index` is HMAC-SHA256 of the lower-cased address under a key derived from
-- PERSONAL_DATA_KEY: a dump of this table names no address.
CREATE TABLE customer_emails
(
    email_index bytea PRIMARY KEY CHECK (octet_length(email_index) = 32),
    customer_id uuid        NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_emails_customer_idx ON customer_emails (customer_id);

-- Password hashes (argon2id, PHC strings with their own salt and parameters).
-- Never in an event: a password must be changeable and erasable.
CREATE TABLE customer_credentials
(
    customer_id   uuid PRIMARY KEY,
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Refresh tokens, by the SHA-256 of the token (the token itself is shown once).
-- Each sign-in starts a family; each refresh spends its token and adds the next
-- one to the family. A spent token presented again means it was stolen (or the
-- answer was lost): the whole family is revoked.
CREATE TABLE refresh_tokens
(
    token_hash  bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    family_id   uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_customer_idx ON refresh_tokens (customer_id);
