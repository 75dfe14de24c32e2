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
        // `null` is a value like any other: a key set to `null` is still there,
        // and only an added or removed key or array element is an addition or a
        // removal.
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
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// The parent's pointer and the last segment, unescaped.
    fn split(path: &str) -> (&str, String) {
        let at = path.rfind('/').unwrap();
        (
            &path[..at],
            path[at + 1..].replace("~1", "/").replace("~0", "~"),
        )
    }

    /// `before` with `changes` applied: what the diff claims `after` is.
    fn apply(before: &Value, changes: &[Change]) -> Value {
        let mut value = before.clone();
        let mut removals = Vec::new();
        let mut additions = Vec::new();
        for change in changes {
            match change {
                Change::Changed { path, after, .. } => {
                    *value.pointer_mut(path).unwrap() = after.clone();
                }
                Change::Removed { path, .. } => removals.push(path.clone()),
                Change::Added { path, after } => additions.push((path.clone(), after.clone())),
            }
        }
        // Array removals are a tail: the highest index goes first.
        removals.sort_by_key(|path| std::cmp::Reverse(split(path).1.parse::<usize>().ok()));
        for path in removals {
            if path.is_empty() {
                value = Value::Null;
                continue;
            }
            let (parent, key) = split(&path);
            match value.pointer_mut(parent).unwrap() {
                Value::Object(map) => {
                    map.remove(&key);
                }
                Value::Array(items) => {
                    items.remove(key.parse::<usize>().unwrap());
                }
                other => panic!("removal under a scalar {other}"),
            }
        }
        for (path, after) in additions {
            if path.is_empty() {
                value = after;
                continue;
            }
            let (parent, key) = split(&path);
            match value.pointer_mut(parent).unwrap() {
                Value::Object(map) => {
                    map.insert(key, after);
                }
                Value::Array(items) => {
                    assert_eq!(key.parse::<usize>().unwrap(), items.len(), "{path}");
                    items.push(after);
                }
                other => panic!("addition under a scalar {other}"),
            }
        }
        value
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            "[ab]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![Just("a"), Just("b"), Just("c/d"), Just("e~f")]
                        .prop_map(str::to_owned),
                    inner,
                    0..4
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_changes_turn_the_first_value_into_the_second(
            before in json_value(),
            after in json_value(),
        ) {
            let changes = diff(&before, &after);
            prop_assert_eq!(apply(&before, &changes), after.clone());
            prop_assert_eq!(changes.is_empty(), before == after);
        }
    }

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
    fn a_stream_that_did_not_exist_yet_shows_its_state_changed_from_null() {
        let changes = diff(&json!({"state": null}), &json!({"state": {"id": 1}}));
        assert_eq!(
            changes,
            vec![Change::Changed {
                path: "/state".into(),
                before: json!(null),
                after: json!({"id": 1})
            }]
        );
        assert_eq!(changes[0].to_string(), r#"~ /state: null -> {"id":1}"#);
    }

    #[test]
    fn a_key_set_to_null_is_changed_not_removed() {
        assert_eq!(
            diff(&json!({"a": 1}), &json!({"a": null})),
            vec![Change::Changed {
                path: "/a".into(),
                before: json!(1),
                after: json!(null)
            }]
        );
    }
}
