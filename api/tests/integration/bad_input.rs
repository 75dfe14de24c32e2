//! Bad input over every command route (and the queries' parameters): malformed
//! JSON, missing fields, wrong types, unknown fields, absurd numbers, 1 MB strings,
//! unicode edge cases, empty bodies, wrong content types and ids that are not ids.
//! Never a 5xx; always a problem body that says what is wrong; never a change.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, admin, checkout_body, count_events, customer, guest_cart, paid_order,
    projectors_caught_up, published_product, read_models, stocked,
};
use crate::support::{api_config, reply, spawn_app, spawn_app_with, Caller, Reply, TestApp};

/// What a body field holds, which decides the bad values tried in it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Sku,
    Quantity,
    Money,
    Threshold,
    Delta,
    AdjustmentReason,
    MergePolicy,
    Currency,
    Email,
    Address,
    PaymentToken,
    ShipmentLines,
    Attributes,
}

/// A field of a route's body: a JSON pointer, its kind, and whether it may be left out.
#[derive(Debug, Clone, Copy)]
struct Field {
    pointer: &'static str,
    kind: Kind,
    required: bool,
}

const fn required(pointer: &'static str, kind: Kind) -> Field {
    Field {
        pointer,
        kind,
        required: true,
    }
}

const fn optional(pointer: &'static str, kind: Kind) -> Field {
    Field {
        pointer,
        kind,
        required: false,
    }
}

/// What the path names: an aggregate's UUID or a SKU.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Param {
    None,
    Id,
    Sku,
}

struct Route<'a> {
    /// The route as in the router.
    template: &'static str,
    /// The path with a real aggregate in it.
    path: String,
    caller: Caller<'a>,
    /// A body the route accepts; `None` for routes that take no body.
    body: Option<Value>,
    /// The whole body may be left out (`POST /commands/carts`, `attach-customer`).
    optional_body: bool,
    fields: Vec<Field>,
    param: Param,
}

/// How a case may be answered.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 400: the request cannot be understood.
    BadRequest,
    /// 400, or 422 when the value is well-formed but a rule refuses it.
    Refused,
    PayloadTooLarge,
    UnsupportedMediaType,
}

impl Expect {
    fn allows(self, status: u16) -> bool {
        match self {
            Expect::BadRequest => status == 400,
            Expect::Refused => status == 400 || status == 422,
            Expect::PayloadTooLarge => status == 413,
            Expect::UnsupportedMediaType => status == 415,
        }
    }
}

struct Case {
    label: String,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    expect: Expect,
}

const MARKER: &str = "@@raw-value@@";
const ONE_MB: usize = 1024 * 1024;

/// `body` with the value at `pointer` replaced by the raw JSON text `raw` (which
/// need not be valid JSON, nor representable as a `Value`).
fn with_raw(body: &Value, pointer: &str, raw: &str) -> Vec<u8> {
    let mut body = body.clone();
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the body")) = Value::String(MARKER.into());
    serde_json::to_string(&body)
        .unwrap()
        .replace(&format!("\"{MARKER}\""), raw)
        .into_bytes()
}

/// `body` without the field at `pointer`.
fn without(body: &Value, pointer: &str) -> Vec<u8> {
    let mut body = body.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap()
        .remove(key);
    serde_json::to_vec(&body).unwrap()
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Values a field of `kind` must refuse, as raw JSON, with how each may be answered.
fn bad_values(kind: Kind, required: bool) -> Vec<(String, Expect)> {
    use Expect::{BadRequest as B, Refused as R};
    let raw = |values: &[&str], expect: Expect| -> Vec<(String, Expect)> {
        values.iter().map(|v| ((*v).to_owned(), expect)).collect()
    };
    // Not a string, or not a string JSON allows in UTF-8 (lone surrogates).
    let not_text = raw(
        &["5", "true", "[]", "{}", r#""\ud800""#, r#""x\udc00y""#],
        B,
    );
    let mut values = match kind {
        Kind::Text => not_text,
        Kind::Sku => {
            let mut values = not_text;
            for text in [
                "",
                "has space",
                "🦀",
                "a\u{0}b",
                "\u{202E}ABC",
                "e\u{301}",
                "a/b",
            ] {
                values.push((quoted(text), B));
            }
            values.push((quoted(&"X".repeat(65)), B));
            values
        }
        Kind::Quantity => raw(
            &[
                "-1",
                "0",
                "1.5",
                "1e30",
                "9223372036854775807",
                "-9223372036854775808",
                "1000001",
                "4294967296",
                r#""1""#,
                "true",
                "[]",
            ],
            B,
        ),
        Kind::Money => {
            let mut values = raw(
                &[
                    "5",
                    r#""5 EUR""#,
                    "{}",
                    r#"{"amount": 100}"#,
                    r#"{"currency": "EUR"}"#,
                    r#"{"amount": 1.5, "currency": "EUR"}"#,
                    r#"{"amount": 1e30, "currency": "EUR"}"#,
                    r#"{"amount": 9223372036854775808, "currency": "EUR"}"#,
                    r#"{"amount": -9223372036854775809, "currency": "EUR"}"#,
                    r#"{"amount": "100", "currency": "EUR"}"#,
                    r#"{"amount": 100, "currency": "eur"}"#,
                    r#"{"amount": 100, "currency": "EURO"}"#,
                    r#"{"amount": 100, "currency": ""}"#,
                    r#"{"amount": 100, "currency": 978}"#,
                    r#"{"amount": 100, "currency": "€"}"#,
                ],
                B,
            );
            values.extend(raw(
                &[
                    r#"{"amount": -1, "currency": "EUR"}"#,
                    r#"{"amount": 0, "currency": "EUR"}"#,
                    r#"{"amount": -9223372036854775808, "currency": "EUR"}"#,
                ],
                R,
            ));
            values
        }
        Kind::Threshold => {
            let mut values = raw(
                &[
                    "-1",
                    "1.5",
                    "1e30",
                    "18446744073709551616",
                    r#""3""#,
                    "true",
                ],
                B,
            );
            values.extend(raw(&["9223372036854775807"], R));
            values
        }
        Kind::Delta => {
            let mut values = raw(
                &[
                    "1.5",
                    "1e30",
                    "9223372036854775808",
                    "-9223372036854775809",
                    r#""2""#,
                ],
                B,
            );
            values.extend(raw(
                &[
                    "0",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "1000001",
                ],
                R,
            ));
            values
        }
        Kind::AdjustmentReason => raw(&[r#""bogus""#, r#""DAMAGED""#, r#""""#, "5", "{}"], B),
        Kind::MergePolicy => raw(&[r#""bogus""#, r#""Merge""#, r#""""#, "5", "[]"], B),
        Kind::Currency => raw(
            &[
                r#""eur""#,
                r#""EURO""#,
                r#""""#,
                "978",
                r#""€""#,
                r#""E\u0000R""#,
            ],
            B,
        ),
        Kind::Email => {
            let mut values = not_text;
            for text in [
                "not-an-email",
                "",
                "a b@example.com",
                "ada@example.com\u{0}",
            ] {
                values.push((quoted(text), B));
            }
            values
        }
        Kind::Address => {
            let valid = crate::fixtures::address();
            let mut values = raw(&[r#""1 Main St, London""#, "{}", "[]", "5"], B);
            for (key, value) in [
                ("country", json!("Great Britain")),
                ("country", json!("gb")),
                ("line1", json!("a\u{0}b")),
                ("city", json!("   ")),
                ("name", json!("x".repeat(201))),
                ("postal_code", json!(5)),
                ("planet", json!("Mars")),
            ] {
                let mut address = valid.clone();
                address[key] = value;
                values.push((address.to_string(), B));
            }
            values
        }
        Kind::PaymentToken => {
            let mut values = not_text;
            for text in [
                "4242 4242 4242 4242",
                "4242424242424242",
                "",
                "tok with space",
                "tok_\u{1F980}",
            ] {
                values.push((quoted(text), B));
            }
            values
        }
        Kind::ShipmentLines => {
            let mut values = raw(
                &[
                    r#""all""#,
                    "{}",
                    "[5]",
                    r#"[{"sku": "MUG-1"}]"#,
                    r#"[{"quantity": 1}]"#,
                    r#"[{"sku": "MUG-1", "quantity": 0}]"#,
                    r#"[{"sku": "MUG-1", "quantity": -1}]"#,
                    r#"[{"sku": "bad sku", "quantity": 1}]"#,
                    r#"[{"sku": "MUG-1", "quantity": 1, "box": "big"}]"#,
                ],
                B,
            );
            values.extend(raw(
                &[
                    "[]",
                    r#"[{"sku": "MUG-1", "quantity": 2}]"#,
                    r#"[{"sku": "MUG-1", "quantity": 1}, {"sku": "MUG-1", "quantity": 1}]"#,
                ],
                R,
            ));
            values
        }
        Kind::Attributes => raw(
            &[
                "[]",
                r#""colour=red""#,
                r#"{"colour": 5}"#,
                r#"{"colour": null}"#,
                r#"{"k": "\ud800"}"#,
            ],
            B,
        ),
    };
    // `null` is no value: refused where the field is required, and where it is a
    // plain string or list (only `Option` fields take `null` for "absent").
    let nullable = matches!(kind, Kind::Currency | Kind::MergePolicy);
    if required || !nullable {
        values.push(("null".into(), B));
    }
    values
}

/// Every case for one route: the whole body, each field, the path.
fn cases(route: &Route) -> Vec<Case> {
    let mut cases = Vec::new();
    let case = |label: &str, content_type: Option<&'static str>, body: Vec<u8>, expect| Case {
        label: label.to_owned(),
        path: route.path.clone(),
        content_type,
        body,
        expect,
    };
    let json_type = Some("application/json");
    if let Some(valid) = &route.body {
        let text = serde_json::to_string(valid).unwrap();
        use Expect::BadRequest as B;
        for (label, body) in [
            ("malformed JSON", br#"{"sku": "#.to_vec()),
            ("truncated JSON", text.as_bytes()[..text.len() / 2].to_vec()),
            ("trailing garbage", format!("{text} x").into_bytes()),
            ("two documents", format!("{text}{text}").into_bytes()),
            ("a JSON array", b"[]".to_vec()),
            ("JSON null", b"null".to_vec()),
            ("a JSON string", br#""hello""#.to_vec()),
            ("a JSON number", b"42".to_vec()),
            ("single quotes", b"{'sku': 'MUG-1'}".to_vec()),
            ("a comment", format!("/* hi */ {text}").into_bytes()),
            ("invalid UTF-8", b"{\"name\": \"\xff\xfe\"}".to_vec()),
            ("a NUL byte", b"{\0}".to_vec()),
            (
                "deep nesting",
                format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            ),
        ] {
            cases.push(case(label, json_type, body, B));
        }
        if !route.optional_body {
            cases.push(case("an empty body", json_type, Vec::new(), B));
            cases.push(case("a blank body", json_type, b" \n ".to_vec(), B));
            cases.push(case("an empty object", json_type, b"{}".to_vec(), B));
            cases.push(case(
                "text/plain",
                Some("text/plain"),
                text.clone().into_bytes(),
                Expect::UnsupportedMediaType,
            ));
            cases.push(case(
                "no content type",
                None,
                text.clone().into_bytes(),
                Expect::UnsupportedMediaType,
            ));
            cases.push(case(
                "form encoded",
                Some("application/x-www-form-urlencoded"),
                b"sku=MUG-1&quantity=1".to_vec(),
                Expect::UnsupportedMediaType,
            ));
        }
        let mut unknown = valid.clone();
        unknown["unexpected"] = json!(1);
        cases.push(case(
            "an unknown field",
            json_type,
            serde_json::to_vec(&unknown).unwrap(),
            B,
        ));
        let mut padded = valid.clone();
        padded["padding"] = json!("x".repeat(ONE_MB));
        cases.push(case(
            "1 MB of padding",
            json_type,
            serde_json::to_vec(&padded).unwrap(),
            Expect::PayloadTooLarge,
        ));

        for field in &route.fields {
            let label = |what: &str| format!("{} {what}", field.pointer);
            if field.required {
                cases.push(case(
                    &label("missing"),
                    json_type,
                    without(valid, field.pointer),
                    B,
                ));
            }
            for (raw, expect) in bad_values(field.kind, field.required) {
                let shown: String = raw.chars().take(60).collect();
                cases.push(case(
                    &label(&format!("= {shown}")),
                    json_type,
                    with_raw(valid, field.pointer, &raw),
                    expect,
                ));
            }
            if matches!(
                field.kind,
                Kind::Text | Kind::Sku | Kind::Email | Kind::PaymentToken
            ) {
                let huge = quoted(&"x".repeat(ONE_MB));
                cases.push(case(
                    &label("of 1 MB"),
                    json_type,
                    with_raw(valid, field.pointer, &huge),
                    Expect::PayloadTooLarge,
                ));
                let emoji = quoted(&"🦀".repeat(ONE_MB / 4));
                cases.push(case(
                    &label("of 1 MB of emoji"),
                    json_type,
                    with_raw(valid, field.pointer, &emoji),
                    Expect::PayloadTooLarge,
                ));
            }
        }
    }

    let body = route
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    let bad_params: &[&str] = match route.param {
        Param::None => &[],
        Param::Id => &[
            "not-a-uuid",
            "123",
            "00000000-0000-0000-0000-00000000000g",
            "67e55044-10b1-426f-9247-bb680e5fe0c8x",
            "%00",
            "%F0%9F%A6%80",
            "-1",
        ],
        Param::Sku => &[
            "bad%20sku",
            "%F0%9F%A6%80",
            "a%00b",
            "%E2%80%AEABC",
            "e%CC%81",
        ],
    };
    let long = "x".repeat(2000);
    let mut params: Vec<&str> = bad_params.to_vec();
    if route.param != Param::None {
        params.push(&long);
    }
    for param in params {
        let placeholder = if route.param == Param::Id {
            "{id}"
        } else {
            "{sku}"
        };
        let path = route.template.replace(placeholder, param);
        cases.push(Case {
            label: format!(
                "path parameter {}",
                param.chars().take(40).collect::<String>()
            ),
            path,
            content_type: route.body.as_ref().map(|_| "application/json"),
            body: body.clone(),
            expect: Expect::BadRequest,
        });
    }
    cases
}

/// A 4xx problem body: `code`, `detail`, `status` and `request_id` (the header's).
fn assert_problem(answer: &Reply, what: &str) {
    assert!(
        answer.status < 500,
        "{what}: {} {}",
        answer.status,
        answer.body
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{what}: {} {:?}",
        answer.status,
        answer.headers
    );
    let body = &answer.body;
    assert!(
        !body["code"].as_str().unwrap_or_default().is_empty(),
        "{what}: {body}"
    );
    assert!(
        !body["detail"].as_str().unwrap_or_default().is_empty(),
        "{what}: {body}"
    );
    assert_eq!(body["status"], answer.status, "{what}: {body}");
    assert_eq!(
        body["request_id"].as_str(),
        answer.header("x-request-id"),
        "{what}: {body}"
    );
}

/// What every route acts on: a product on sale with stock, a guest's cart with a
/// line, a signed-in customer, and a paid order.
struct World {
    admin: String,
    product_id: String,
    cart_id: String,
    cart_token: String,
    customer_token: String,
    order_id: String,
    payment_id: String,
}

async fn world(app: &TestApp) -> World {
    let (product_id, _) = published_product(app, "MUG-1", 1000, "kitchen").await;
    stocked(app, "MUG-1", 2, 10).await;
    let cart = guest_cart(app).await;
    add_item(app, &cart.id, Caller::Guest(&cart.token), "MUG-1", 1).await;
    let order = paid_order(&app.pool, None, &[("MUG-1", 1000, 1)]).await;
    projectors_caught_up(&app.pool).await;
    World {
        admin: admin(app),
        product_id,
        cart_id: cart.id,
        cart_token: cart.token,
        customer_token: customer(app).token,
        order_id: order.order_id.to_string(),
        payment_id: order.payment_id.to_string(),
    }
}

fn routes(w: &World) -> Vec<Route<'_>> {
    use Kind::*;
    let admin = Caller::Bearer(&w.admin);
    let guest = Caller::Guest(&w.cart_token);
    let route = |template: &'static str, caller, body: Option<Value>, fields: Vec<Field>| {
        let param = if template.contains("{id}") {
            Param::Id
        } else if template.contains("{sku}") {
            Param::Sku
        } else {
            Param::None
        };
        let id = if template.starts_with("/commands/products/") {
            &w.product_id
        } else if template.starts_with("/commands/carts/") {
            &w.cart_id
        } else if template.starts_with("/commands/orders/") {
            &w.order_id
        } else {
            &w.payment_id
        };
        Route {
            template,
            path: template.replace("{id}", id).replace("{sku}", "MUG-1"),
            caller,
            body,
            optional_body: false,
            fields,
            param,
        }
    };
    vec![
        route(
            "/commands/products",
            admin,
            Some(
                json!({"sku": "NEW-1", "name": "New", "description": "D", "category": "c",
                        "brand": "b", "price": {"amount": 100, "currency": "EUR"},
                        "attributes": {"colour": "red"}}),
            ),
            vec![
                required("/sku", Sku),
                required("/name", Text),
                required("/description", Text),
                required("/category", Text),
                required("/brand", Text),
                required("/price", Money),
                optional("/attributes", Attributes),
            ],
        ),
        route(
            "/commands/products/{id}/update",
            admin,
            Some(
                json!({"name": "Renamed", "description": "D", "category": "c", "brand": "b",
                        "attributes": {}}),
            ),
            vec![
                required("/name", Text),
                required("/description", Text),
                required("/category", Text),
                required("/brand", Text),
                required("/attributes", Attributes),
            ],
        ),
        route(
            "/commands/products/{id}/change-price",
            admin,
            Some(json!({"price": {"amount": 1200, "currency": "EUR"}})),
            vec![required("/price", Money)],
        ),
        route("/commands/products/{id}/publish", admin, None, vec![]),
        route("/commands/products/{id}/unpublish", admin, None, vec![]),
        route("/commands/products/{id}/discontinue", admin, None, vec![]),
        route(
            "/commands/inventory/{sku}/register",
            admin,
            Some(json!({"low_stock_threshold": 3})),
            vec![required("/low_stock_threshold", Threshold)],
        ),
        route(
            "/commands/inventory/{sku}/receive",
            admin,
            Some(json!({"quantity": 5, "reference": "PO-2"})),
            vec![
                required("/quantity", Quantity),
                required("/reference", Text),
            ],
        ),
        route(
            "/commands/inventory/{sku}/adjust",
            admin,
            Some(json!({"delta": 2, "reason": "found", "note": "behind the shelf"})),
            vec![
                required("/delta", Delta),
                required("/reason", AdjustmentReason),
                optional("/note", Text),
            ],
        ),
        Route {
            optional_body: true,
            ..route(
                "/commands/carts",
                Caller::Anonymous,
                Some(json!({"currency": "EUR"})),
                vec![optional("/currency", Currency)],
            )
        },
        route(
            "/commands/carts/{id}/add-item",
            guest,
            Some(json!({"sku": "MUG-1", "quantity": 1})),
            vec![required("/sku", Sku), required("/quantity", Quantity)],
        ),
        route(
            "/commands/carts/{id}/change-quantity",
            guest,
            Some(json!({"sku": "MUG-1", "quantity": 2})),
            vec![required("/sku", Sku), required("/quantity", Quantity)],
        ),
        route(
            "/commands/carts/{id}/remove-item",
            guest,
            Some(json!({"sku": "MUG-1"})),
            vec![required("/sku", Sku)],
        ),
        Route {
            optional_body: true,
            ..route(
                "/commands/carts/{id}/attach-customer",
                Caller::BearerWithCart(&w.customer_token, &w.cart_token),
                Some(json!({"policy": "merge"})),
                vec![optional("/policy", MergePolicy)],
            )
        },
        route(
            "/commands/carts/{id}/checkout",
            guest,
            Some(checkout_body()),
            vec![
                required("/email", Email),
                required("/shipping_address", Address),
                required("/payment_token", PaymentToken),
            ],
        ),
        route("/commands/carts/{id}/abandon", guest, None, vec![]),
        route(
            "/commands/orders/{id}/ship",
            admin,
            Some(
                json!({"lines": [{"sku": "MUG-1", "quantity": 1}], "carrier": "DHL",
                        "tracking_number": "JD01"}),
            ),
            vec![
                required("/lines", ShipmentLines),
                required("/carrier", Text),
                required("/tracking_number", Text),
            ],
        ),
        route("/commands/orders/{id}/deliver", admin, None, vec![]),
        route(
            "/commands/orders/{id}/cancel",
            admin,
            Some(json!({"reason": "out of stock"})),
            vec![required("/reason", Text)],
        ),
        route(
            "/commands/payments/{id}/refund",
            admin,
            Some(json!({"amount": {"amount": 100, "currency": "EUR"}, "reason": "goodwill"})),
            vec![required("/amount", Money), required("/reason", Text)],
        ),
    ]
}

async fn send(app: &TestApp, route: &Route<'_>, case: &Case) -> Reply {
    let mut request = app.client.post(app.url(&case.path)).body(case.body.clone());
    if let Some(content_type) = case.content_type {
        request = request.header("Content-Type", content_type);
    }
    reply(route.caller.apply(request)).await
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn no_bad_input_to_any_command_gets_a_5xx_or_changes_anything(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let world = world(&app).await;
    let routes = routes(&world);
    assert_eq!(routes.len(), 20, "every command route of the router");
    let events = count_events(&pool).await;
    let models = read_models(&pool).await;

    let mut tried = 0;
    let mut failures = Vec::new();
    for route in &routes {
        for case in cases(route) {
            let what = format!(
                "POST {} ({}) with {}",
                route.template,
                case.path.chars().take(80).collect::<String>(),
                case.label
            );
            let before = count_events(&pool).await;
            let answer = send(&app, route, &case).await;
            tried += 1;
            if !case.expect.allows(answer.status) {
                failures.push(format!(
                    "{what}: expected {:?}, got {} {}",
                    case.expect, answer.status, answer.body
                ));
            } else {
                assert_problem(&answer, &what);
            }
            if count_events(&pool).await != before {
                failures.push(format!("{what}: appended events"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {tried} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(tried > 600, "only {tried} cases");
    println!("{tried} bad requests over {} command routes", routes.len());
    assert_eq!(count_events(&pool).await, events);
    projectors_caught_up(&pool).await;
    assert_eq!(read_models(&pool).await, models, "a read model changed");

    // The valid bodies the cases were made from are understood (answered with
    // 2xx or a business refusal, never 400): the cases above differ from a good
    // request only in what they name.
    // attach-customer last: the cart is the customer's after it, not the guest's.
    let mut valid: Vec<&Route> = routes.iter().filter(|r| r.body.is_some()).collect();
    valid.sort_by_key(|r| r.template.ends_with("attach-customer"));
    for route in valid {
        let body = route.body.clone().unwrap();
        let answer = app.command(&route.path, route.caller, body).await;
        assert!(
            answer.status < 300 || answer.status == 422,
            "valid POST {}: {} {}",
            route.template,
            answer.status,
            answer.body
        );
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn no_bad_query_parameter_gets_a_5xx(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let world = world(&app).await;
    let admin = Caller::Bearer(&world.admin);
    let long = "A".repeat(2000);
    let queries = [
        "/queries/products?limit=0".to_owned(),
        "/queries/products?limit=101".into(),
        "/queries/products?limit=-1".into(),
        "/queries/products?limit=abc".into(),
        "/queries/products?limit=1e3".into(),
        "/queries/products?limit=99999999999999999999".into(),
        "/queries/products?cursor=!!!".into(),
        "/queries/products?cursor=eyJub3QiOiJhIGN1cnNvciJ9".into(),
        format!("/queries/products?cursor={long}"),
        "/queries/products?status=bogus".into(),
        "/queries/orders?status=bogus".into(),
        "/queries/orders?customer_id=not-a-uuid".into(),
        "/queries/orders?cursor=%00".into(),
        "/queries/orders?limit=0".into(),
        "/queries/inventory?low_stock=maybe".into(),
        "/queries/inventory?cursor=%F0%9F%A6%80".into(),
        "/queries/payments".into(),
        "/queries/payments?order_id=not-a-uuid".into(),
        "/queries/carts/not-a-uuid".into(),
        "/queries/orders/not-a-uuid".into(),
        "/queries/products/not-a-uuid".into(),
        "/queries/products/%00".into(),
        format!("/queries/products/{long}"),
    ];
    for path in queries {
        let answer = app.query(&path, admin, None).await;
        assert_eq!(answer.status, 400, "GET {path}: {}", answer.body);
        assert_problem(&answer, &path);
    }
    // Unknown ids and SKUs are 404s with a problem body.
    for path in [
        format!("/queries/products/{}", uuid::Uuid::new_v4()),
        "/queries/inventory/NO-SUCH-SKU".into(),
        format!("/queries/inventory/{long}"),
        "/queries/inventory/%F0%9F%A6%80".into(),
        "/no/such/route".into(),
    ] {
        let answer = app.query(&path, admin, None).await;
        assert_eq!(answer.status, 404, "GET {path}: {}", answer.body);
        assert_problem(&answer, &path);
    }
}

/// Free text in all the shapes people and systems send it.
fn unicode_edge_cases() -> Vec<&'static str> {
    vec![
        "\u{202E}evil\u{202C} right-to-left",
        "\u{200F}\u{05E9}\u{05DC}\u{05D5}\u{05DD}",
        "crab 🦀 and coffee ☕",
        "family 👨\u{200D}👩\u{200D}👧",
        "e\u{301}\u{301}\u{301} combining",
        "\u{FEFF}byte order mark",
        "zero\u{200B}width",
        "tab\tnew\nline",
        "bell\u{7}",
        "high \u{10FFFF} plane",
    ]
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn unicode_in_free_text_is_kept_exactly_or_refused(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    for (n, text) in unicode_edge_cases().into_iter().enumerate() {
        let before = count_events(&pool).await;
        let created = app
            .command(
                "/commands/products",
                Caller::Bearer(&admin),
                json!({"sku": format!("UNI-{n}"), "name": text, "description": text,
                       "category": text, "brand": text, "price": {"amount": 100, "currency": "EUR"},
                       "attributes": {(text): text}}),
            )
            .await;
        if created.status != 201 {
            assert_problem(&created, text);
            assert_eq!(
                count_events(&pool).await,
                before,
                "{text:?} refused yet appended"
            );
            continue;
        }
        let id = created.body["id"].as_str().unwrap();
        let view = app
            .query(
                &format!("/queries/products/{id}"),
                Caller::Bearer(&admin),
                Some(&created.consistency()),
            )
            .await;
        assert_eq!(view.status, 200, "{text:?}: {}", view.body);
        for field in ["name", "description", "category", "brand"] {
            assert_eq!(view.body[field], text, "{field} of {text:?}");
        }
        assert_eq!(view.body["attributes"][text], text);
    }
    // A valid surrogate pair, escaped, is one character.
    let escaped =
        br#"{"sku": "UNI-PAIR", "name": "\ud83e\udd80", "description": "", "category": "c",
                       "brand": "b", "price": {"amount": 1, "currency": "EUR"}}"#;
    let created = reply(
        app.client
            .post(app.url("/commands/products"))
            .bearer_auth(&admin)
            .header("Content-Type", "application/json")
            .body(escaped.to_vec()),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let view = app
        .query(
            &format!("/queries/products/{}", created.body["id"].as_str().unwrap()),
            Caller::Bearer(&admin),
            Some(&created.consistency()),
        )
        .await;
    assert_eq!(view.body["name"], "🦀");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_nul_in_free_text_is_refused_or_kept_and_never_stops_a_projector(pool: PgPool) {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = api::config::ApiConfig {
        consistency_wait_ms: 1500,
        ..api_config()
    };
    let app = spawn_app_with(pool.clone(), true, &redis_url, config).await;
    let admin = admin(&app);
    let as_admin = Caller::Bearer(&admin);
    let order = paid_order(&pool, None, &[("MUG-1", 1000, 2)]).await;
    let nul = "before\u{0}after";
    let mut problems = Vec::new();

    let product = app
        .command(
            "/commands/products",
            as_admin,
            json!({"sku": "NUL-1", "name": nul, "description": "", "category": "c", "brand": "b",
                   "price": {"amount": 100, "currency": "EUR"}}),
        )
        .await;
    let refund = app
        .command(
            &format!("/commands/payments/{}/refund", order.payment_id),
            as_admin,
            json!({"amount": {"amount": 100, "currency": "EUR"}, "reason": nul}),
        )
        .await;
    let cancel = app
        .command(
            &format!("/commands/orders/{}/cancel", order.order_id),
            as_admin,
            json!({"reason": nul}),
        )
        .await;
    for (what, answer, read) in [
        (
            "product name",
            &product,
            format!(
                "/queries/products/{}",
                product.body["id"].as_str().unwrap_or_default()
            ),
        ),
        (
            "refund reason",
            &refund,
            format!("/queries/payments?order_id={}", order.order_id),
        ),
        (
            "cancel reason",
            &cancel,
            format!("/queries/orders/{}", order.order_id),
        ),
    ] {
        match answer.status {
            400 | 422 => continue,
            200 | 201 => {}
            other => {
                problems.push(format!("{what}: {other} {}", answer.body));
                continue;
            }
        }
        let view = app
            .query(&read, as_admin, Some(&answer.consistency()))
            .await;
        if view.status != 200 {
            problems.push(format!(
                "{what}: accepted ({}), then GET {read} answered {} {}",
                answer.status, view.status, view.body
            ));
        }
    }
    let failures: Vec<String> = sqlx::query_scalar(
        "SELECT projector || ': ' || failure FROM projector_checkpoints WHERE failure IS NOT NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        problems.is_empty() && failures.is_empty(),
        "{problems:#?}\nstopped projectors: {failures:#?}"
    );
}

/// Commands that take no body run whatever body is sent.
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn commands_without_a_body_refuse_a_body_that_is_not_empty_json(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let world = world(&app).await;
    let events = count_events(&pool).await;
    let mut accepted = Vec::new();
    for route in routes(&world).iter().filter(|r| r.body.is_none()) {
        for (label, body) in [
            ("malformed JSON", br#"{"sku": "#.to_vec()),
            ("an unknown field", br#"{"force": true}"#.to_vec()),
            ("1 MB", vec![b'x'; ONE_MB]),
        ] {
            let request = app
                .client
                .post(app.url(&route.path))
                .header("Content-Type", "application/json")
                .body(body);
            let answer = reply(route.caller.apply(request)).await;
            if answer.status < 300 {
                accepted.push(format!(
                    "POST {} with {label}: {}",
                    route.template, answer.status
                ));
            }
        }
    }
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
    assert_eq!(count_events(&pool).await, events);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn optional_bodies_are_json_or_refused_with_415(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let cart = guest_cart(&app).await;
    let ada = customer(&app);
    let events = count_events(&pool).await;
    let attach = format!("/commands/carts/{}/attach-customer", cart.id);
    let mut accepted = Vec::new();
    for (path, caller) in [
        ("/commands/carts", Caller::Anonymous),
        (
            attach.as_str(),
            Caller::BearerWithCart(&ada.token, &cart.token),
        ),
    ] {
        for content_type in [
            Some("text/plain"),
            None,
            Some("application/x-www-form-urlencoded"),
        ] {
            let mut request = app.client.post(app.url(path)).body("{}");
            if let Some(content_type) = content_type {
                request = request.header("Content-Type", content_type);
            }
            let answer = reply(caller.apply(request)).await;
            if answer.status != 415 {
                accepted.push(format!(
                    "POST {path} with Content-Type {content_type:?}: {} {}",
                    answer.status, answer.body
                ));
            }
        }
    }
    assert!(accepted.is_empty(), "{}", accepted.join("\n"));
    assert_eq!(count_events(&pool).await, events);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_wrong_method_is_a_405_problem(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    for request in [
        app.client.get(app.url("/commands/carts")),
        app.client.delete(app.url("/queries/products")),
        app.client.put(app.url(&format!(
            "/commands/carts/{}/add-item",
            uuid::Uuid::new_v4()
        ))),
    ] {
        let answer = reply(request).await;
        assert_eq!(answer.status, 405);
        assert_problem(&answer, "wrong method");
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn unknown_fields_inside_money_are_refused(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let answer = app
        .command(
            "/commands/products",
            Caller::Bearer(&admin),
            json!({"sku": "MUG-1", "name": "Mug", "description": "", "category": "c", "brand": "b",
                   "price": {"amount": 100, "currency": "EUR", "cents": true}}),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(count_events(&pool).await, 0);
}
