-- Payment gateway webhooks already taken: a replayed delivery (same event id) is
-- refused and changes nothing. Written in the transaction that appends the
-- webhook's events, so an event id is never recorded without its effect, nor the
-- effect applied twice.
CREATE TABLE webhook_events
(
    event_id    text PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 255),
    received_at timestamptz NOT NULL DEFAULT now()
);
