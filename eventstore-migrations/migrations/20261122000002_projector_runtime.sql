-- The projector runtime's state: one checkpoint per projector, and the events that
-- park-on-failure projectors set aside.

CREATE TABLE projector_checkpoints
(
    projector          text PRIMARY KEY,
    -- The last event applied, in the reader's order (transaction_id, global_position).
    -- (0, 0) is "before the first event".
    transaction_id     xid8        NOT NULL DEFAULT '0',
    global_position    bigint      NOT NULL DEFAULT 0,
    events_applied     bigint      NOT NULL DEFAULT 0,
    -- When the last applied event was recorded, for lag in seconds.
    last_recorded_at   timestamptz,
    -- Set by `request_rebuild`; the active instance clears it when it starts over.
    rebuild_requested  boolean     NOT NULL DEFAULT false,
    -- Set by `request_parked_retry`; the active instance retries its parked events.
    retry_parked_requested boolean NOT NULL DEFAULT false,
    -- A stopped projector says why and where, so health and operators can see it.
    failed_at          timestamptz,
    failure            text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parked_events
(
    projector       text        NOT NULL,
    global_position bigint      NOT NULL,
    transaction_id  xid8        NOT NULL,
    event_id        uuid        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence        bigint      NOT NULL,
    event_type      text        NOT NULL,
    error           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 1,
    parked_at       timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set when a retry succeeded; the row stays as a record of what happened.
    resolved_at     timestamptz,
    PRIMARY KEY (projector, global_position)
);

CREATE INDEX parked_events_unresolved_idx ON parked_events (projector, global_position)
    WHERE resolved_at IS NULL;
