-- Values written on every command (an event's payload, a cart's or an order's
-- document) grow past PostgreSQL's TOAST threshold (about 2 kB) once a cart has
-- many lines and discounts, and are then compressed on every write. pglz, the
-- default, showed up among the top symbols of the server under the add-item
-- bench; lz4 compresses several times faster at a similar ratio.
--
-- Only values written from now on are compressed with lz4; stored ones stay as
-- they are, and both read the same, so no event is rewritten (and no hash moves:
-- it covers the JSON text, not its storage). A server built without lz4 keeps
-- pglz: the setting's allowed values say which it has.
DO $$
BEGIN
    IF EXISTS (SELECT 1
               FROM pg_settings
               WHERE name = 'default_toast_compression'
                 AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE snapshots ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE read_carts ALTER COLUMN doc SET COMPRESSION lz4;
        ALTER TABLE read_orders ALTER COLUMN doc SET COMPRESSION lz4;
    END IF;
END
$$;
