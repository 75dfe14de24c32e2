-- A generated catalog, written straight into the log in one statement: $1
-- products, each created (names from a few word lists, ten categories, twenty
-- brands, prices 1.00 to 100.99 EUR), nine in ten published, and each SKU's
-- stock registered, with stock received for six SKUs in seven.
-- Used by the search tests and by `make bench`.
WITH products AS (
    SELECT i,
           md5('product-' || i)::uuid AS product_id,
           'GEN-' || i AS sku,
           (ARRAY['Classic','Modern','Rustic','Compact','Deluxe','Vintage','Sturdy','Elegant','Portable','Handmade'])[1 + i % 10]
             || ' ' || (ARRAY['Ceramic','Steel','Oak','Glass','Bamboo','Copper','Marble','Linen','Cotton','Walnut'])[1 + (i / 10) % 10]
             || ' ' || (ARRAY['Teapot','Kettle','Lamp','Chair','Basket','Vase','Blanket','Cutting Board','Clock','Bowl'])[1 + (i / 100) % 10]
             AS name,
           (ARRAY['Kitchen','Lighting','Furniture','Storage','Decor','Textiles','Garden','Office','Bath','Outdoor'])[1 + (i / 7) % 10] AS category,
           'Brand' || (1 + i % 20) AS brand,
           100 + (i * 37) % 10000 AS price,
           (ARRAY['red','blue','green','black','white'])[1 + i % 5] AS colour
      FROM generate_series(1, $1::int) AS i
), stream AS (
    SELECT 'Product' AS aggregate_type, product_id::text AS aggregate_id, 1 AS sequence,
           'ProductCreated' AS event_type, '2' AS event_version,
           json_build_object('ProductCreated', json_build_object(
               'product_id', product_id, 'sku', sku, 'name', name,
               'description', 'A ' || lower(name) || ' for everyday use, made to last. Item number ' || i || '.',
               'category', category, 'brand', brand,
               'price', json_build_object('amount', price, 'currency', 'EUR'),
               'attributes', json_build_object('colour', colour))) AS payload,
           i, 1 AS step
      FROM products
    UNION ALL
    SELECT 'Product', product_id::text, 2, 'ProductPublished', '1',
           json_build_object('ProductPublished', json_build_object('product_id', product_id, 'sku', sku)),
           i, 2
      FROM products WHERE i % 10 <> 0
    UNION ALL
    SELECT 'Inventory', sku, 1, 'InventoryRegistered', '1',
           json_build_object('InventoryRegistered', json_build_object('sku', sku,
               'low_stock_threshold', 2, 'on_hand_after', 0, 'reserved_after', 0, 'available_after', 0)),
           i, 3
      FROM products
    UNION ALL
    SELECT 'Inventory', sku, 2, 'StockReceived', '1',
           json_build_object('StockReceived', json_build_object('sku', sku, 'quantity', 10,
               'reference', 'initial', 'on_hand_after', 10, 'reserved_after', 0, 'available_after', 10)),
           i, 4
      FROM products WHERE i % 7 <> 0
)
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload,
       '{"actor": "generator", "actor_role": "admin", "correlation_id": "catalog"}'::json
  FROM stream
 ORDER BY i, step
