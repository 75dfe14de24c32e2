-- After the sale: returns, refunds held until issued, captures on the order.
--
-- The order and payment views gained fields (returns' status, conditions and
-- settlement; refunds' purpose and status; captured totals; refund ids on payment
-- transactions). Their stored documents have the old shape, so both projectors
-- start over from the log at their next start; the events are unchanged, and the
-- upcasters read the older ones.
UPDATE projector_checkpoints
   SET rebuild_requested = true
 WHERE projector IN ('orders', 'payments');

-- The back office's returns queue reads returns out of the orders that have any.
CREATE INDEX read_orders_with_returns_idx ON read_orders (order_id)
    WHERE jsonb_array_length(doc -> 'returns') > 0;
