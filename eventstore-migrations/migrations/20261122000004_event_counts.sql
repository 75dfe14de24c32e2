-- Read model: how many events of each type were recorded per day. Built by the
-- `event_counts` projector; analysts' `stats` and the operators' dashboards read it.

CREATE TABLE read_event_counts
(
    day            date   NOT NULL,
    aggregate_type text   NOT NULL,
    event_type     text   NOT NULL,
    events         bigint NOT NULL CHECK (events >= 0),
    PRIMARY KEY (day, aggregate_type, event_type)
);
