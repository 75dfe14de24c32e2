-- Group commit for the command side: the events of many commands, from many
-- concurrent requests, appended in one statement and one transaction, each command
-- all or nothing. A command that lost its optimistic-concurrency race (its first
-- sequence is taken, or its predecessor is missing) is left out and reported
-- missing from the result; the others are stored. One commit for a group instead
-- of one per command is what lets the API keep up with plain INSERT transactions.
--
-- Per command c: p_types[c], p_ids[c], p_metadata[c] (JSON text), and p_counts[c]
-- events, laid out one after another in the p_sequences / p_event_types /
-- p_event_versions / p_payloads arrays (payloads as JSON text: `json` keeps the
-- exact bytes the hash chain covers).
--
-- Each command runs in its own subtransaction (the EXCEPTION block). Callers keep
-- groups small (at most 32 commands): past 64 subtransactions a backend's subxid
-- cache overflows and every snapshot in the cluster gets slower.
CREATE FUNCTION append_commands(
    p_types          text[],
    p_ids            text[],
    p_metadata       text[],
    p_counts         integer[],
    p_sequences      bigint[],
    p_event_types    text[],
    p_event_versions text[],
    p_payloads       text[]
)
    RETURNS TABLE (command integer, transaction_id xid8, global_position bigint)
    LANGUAGE plpgsql
AS $$
DECLARE
    first_event integer := 1;
    last_position bigint;
BEGIN
    FOR c IN 1 .. coalesce(array_length(p_types, 1), 0) LOOP
        BEGIN
            WITH inserted AS (
                INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                    event_version, payload, metadata)
                SELECT p_types[c], p_ids[c], p_sequences[k], p_event_types[k],
                       p_event_versions[k], p_payloads[k]::json, p_metadata[c]::json
                  FROM generate_series(first_event, first_event + p_counts[c] - 1) AS k
                 ORDER BY k
                RETURNING events.global_position
            )
            SELECT max(inserted.global_position) INTO last_position FROM inserted;
            command := c;
            transaction_id := pg_current_xact_id();
            global_position := last_position;
            RETURN NEXT;
        EXCEPTION
            -- The primary key (the sequence is taken) or the hash chain's "no
            -- predecessor" check: another writer moved the stream on.
            -- (SQLSTATE '23000' alone, not its whole class: a check violation is a
            -- bug to surface, not a race.)
            WHEN unique_violation OR SQLSTATE '23000' THEN
                NULL;
        END;
        first_event := first_event + p_counts[c];
    END LOOP;
END
$$;
