//! A structural diff of two JSON values: what `diff` shows of a state change.
//! Objects are compared key by key, arrays index by index, and each difference is
//! named by its JSON Pointer (RFC 6901), so `/state/lines/1/quantity` says where.

use serde::Serialize;
use serde_json::Value;

/// One difference between the two values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    Added {
        path: String,
        after: Value,
    },
    Removed {
        path: String,
        before: Value,
    },
    Changed {
        path: String,
        before: Value,
        after: Value,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Added { path, after } => write!(f, "+ {path}: {after}"),
            Change::Removed { path, before } => write!(f, "- {path}: {before}"),
            Change::Changed {
                path,
                before,
                after,
            } => write!(f, "~ {path}: {before} -> {after}"),
        }
    }
}

/// Every difference from `before` to `after`, in document order.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    walk(String::new(), before, after, &mut changes);
    changes
}

fn walk(path: String, before: &Value, after: &Value, changes: &mut Vec<Change>) {
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, old_value) in old {
                let child = format!("{path}/{}", escape(key));
                match new.get(key) {
                    Some(new_value) => walk(child, old_value, new_value, changes),
                    None => changes.push(Change::Removed {
                        path: child,
                        before: old_value.clone(),
                    }),
                }
            }
            for (key, new_value) in new {
                if !old.contains_key(key) {
                    changes.push(Change::Added {
                        path: format!("{path}/{}", escape(key)),
                        after: new_value.clone(),
                    });
                }
            }
        }
        (Value::Array(old), Value::Array(new)) => {
            for (index, old_value) in old.iter().enumerate() {
                let child = format!("{path}/{index}");
                match new.get(index) {
                    Some(new_value) => walk(child, old_value, new_value, changes),
                    None => changes.push(Change::Removed {
                        path: child,
                        before: old_value.clone(),
                    }),
                }
            }
            for (index, new_value) in new.iter().enumerate().skip(old.len()) {
                changes.push(Change::Added {
                    path: format!("{path}/{index}"),
                    after: new_value.clone(),
                });
            }
        }
        _ if before == after => {}
        // A value that appears where there was none (`null` before) is an addition.
        (Value::Null, _) => changes.push(Change::Added {
            path,
            after: after.clone(),
        }),
        (_, Value::Null) => changes.push(Change::Removed {
            path,
            before: before.clone(),
        }),
        _ => changes.push(Change::Changed {
            path,
            before: before.clone(),
            after: after.clone(),
        }),
    }
}

/// A key as a JSON Pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_values_have_no_changes() {
        let value = json!({"a": [1, {"b": null}], "c": "x"});
        assert!(diff(&value, &value).is_empty());
    }

    #[test]
    fn each_difference_is_named_by_its_pointer() {
        let before = json!({"state": {"status": "Open", "lines": [{"sku": "A", "quantity": 1}], "gone": 1, "a/b": 1}});
        let after = json!({"state": {"status": "CheckedOut", "lines": [{"sku": "A", "quantity": 3}, {"sku": "B", "quantity": 1}], "a/b": 2, "new": true}});
        let changes = diff(&before, &after);
        assert_eq!(
            changes,
            vec![
                Change::Changed {
                    path: "/state/a~1b".into(),
                    before: json!(1),
                    after: json!(2)
                },
                Change::Removed {
                    path: "/state/gone".into(),
                    before: json!(1)
                },
                Change::Changed {
                    path: "/state/lines/0/quantity".into(),
                    before: json!(1),
                    after: json!(3)
                },
                Change::Added {
                    path: "/state/lines/1".into(),
                    after: json!({"sku": "B", "quantity": 1})
                },
                Change::Changed {
                    path: "/state/status".into(),
                    before: json!("Open"),
                    after: json!("CheckedOut")
                },
                Change::Added {
                    path: "/state/new".into(),
                    after: json!(true)
                },
            ]
        );
    }

    #[test]
    fn a_stream_that_did_not_exist_yet_shows_as_additions() {
        let changes = diff(&json!({"state": null}), &json!({"state": {"id": 1}}));
        assert_eq!(
            changes,
            vec![Change::Added {
                path: "/state".into(),
                after: json!({"id": 1})
            }]
        );
        assert_eq!(changes[0].to_string(), r#"+ /state: {"id":1}"#);
    }
}
