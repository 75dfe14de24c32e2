//! The event catalog, `docs/events.md`, names every event type the code records, at
//! the version the code writes, and nothing else: analysts and auditors read the
//! catalog, not the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use domain::upcasting::UPCASTERS;

/// Every event type of every aggregate.
fn event_types_in_code() -> Vec<&'static str> {
    domain::AggregateKind::ALL
        .iter()
        .flat_map(|kind| kind.event_types().iter().copied())
        .collect()
}

/// The version the code writes: where the type's upcaster chain ends, else "1".
fn current_version(event_type: &str) -> String {
    UPCASTERS
        .iter()
        .filter(|step| step.event_type == event_type)
        .map(|step| step.to_version)
        .max_by_key(|version| version.parse::<u32>().unwrap_or(0))
        .unwrap_or("1")
        .to_owned()
}

/// `### Name (vN)` headings of the catalog: name → version.
fn catalog() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.md");
    let text = std::fs::read_to_string(path).expect("docs/events.md exists");
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let Some(heading) = line.strip_prefix("### ") else {
            continue;
        };
        let (name, version) = heading
            .trim()
            .strip_suffix(')')
            .and_then(|h| h.split_once(" (v"))
            .unwrap_or_else(|| panic!("catalog heading {line:?} is not `### Name (vN)`"));
        let previous = entries.insert(name.to_owned(), version.to_owned());
        assert!(previous.is_none(), "{name} appears twice in the catalog");
    }
    entries
}

#[test]
fn every_event_type_in_the_code_is_in_the_catalog_at_its_current_version() {
    let catalog = catalog();
    for event_type in event_types_in_code() {
        let version = catalog
            .get(event_type)
            .unwrap_or_else(|| panic!("{event_type} is missing from docs/events.md"));
        assert_eq!(
            *version,
            current_version(event_type),
            "docs/events.md gives {event_type} another version than the code writes"
        );
    }
}

#[test]
fn the_catalog_lists_no_event_the_code_does_not_have() {
    let in_code = event_types_in_code();
    for name in catalog().keys() {
        assert!(
            in_code.contains(&name.as_str()),
            "docs/events.md lists {name}, which no aggregate records"
        );
    }
}

#[test]
fn event_type_names_are_unique_across_aggregates() {
    let mut names = event_types_in_code();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        count,
        "two aggregates share an event type name"
    );
}
