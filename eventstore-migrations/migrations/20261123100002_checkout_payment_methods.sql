-- The checkout process's memory of how an order is to be paid: the gateway's token
-- from the CartCheckedOut event, kept until the order's stock is reserved and the
-- payment is initiated. A token, never a card number (the domain refuses those).
CREATE TABLE checkout_payment_methods
(
    order_id      uuid PRIMARY KEY,
    payment_token text        NOT NULL CHECK (length(payment_token) BETWEEN 1 AND 200),
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
