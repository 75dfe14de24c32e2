-- The data keys of crypto-shredding: one per data subject (a customer, or a guest's
-- order), wrapped by the master key (PERSONAL_DATA_KEY) with the subject as its
-- associated data. Personal fields of events are sealed under these keys; the
-- events themselves never change. Erasing a subject sets its key to NULL: what
-- was sealed under it can never be opened again, and the row stays to say so
-- (a subject once erased gets no new key, so nothing more of it is recorded).
--
-- The old row version holding the key stays on disk until VACUUM reclaims it
-- (autovacuum, or `VACUUM personal_data_keys` at once: docs/operations.md).
CREATE TABLE personal_data_keys
(
    subject     uuid PRIMARY KEY,
    -- nonce (24 bytes) ‖ XChaCha20-Poly1305 of the 32-byte key (48 bytes).
    wrapped_key bytea CHECK (wrapped_key IS NULL OR octet_length(wrapped_key) = 72),
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);
