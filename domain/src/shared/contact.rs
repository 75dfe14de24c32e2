//! Where an order goes and whom it tells: the e-mail address and the postal address
//! a checkout carries to its order. Validated here so that no aggregate stores a
//! value a carrier or a mail server would refuse.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("{0:?} is not an e-mail address")]
    InvalidEmail(String),
    #[error("a name is 1 to 200 characters, not only spaces, with no control characters")]
    InvalidName,
    #[error("address field {field} {problem}")]
    InvalidAddress {
        field: &'static str,
        problem: &'static str,
    },
}

/// An e-mail address: one `@`, a non-empty local part, a dotted domain, no spaces or
/// control characters, at most 254 bytes (RFC 5321's path limit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn new(value: impl Into<String>) -> Result<Self, ContactError> {
        let value = value.into();
        let valid = value.len() <= Self::MAX_LEN
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && match value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && domain.split('.').all(|label| !label.is_empty())
                }
                None => false,
            };
        if valid {
            Ok(Email(value))
        } else {
            Err(ContactError::InvalidEmail(value))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address an erased one reads as ([`crate::personal::ERASED_EMAIL`]).
    pub fn erased() -> Self {
        Email(crate::personal::ERASED_EMAIL.to_owned())
    }
}

impl TryFrom<String> for Email {
    type Error = ContactError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::new(value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

/// A person's name as they give it: 1 to 200 characters, not only spaces, no
/// control characters. Not split into parts, which many names do not have.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 200;

    pub fn new(value: impl Into<String>) -> Result<Self, ContactError> {
        let value = value.into();
        check_text("name", &value, true).map_err(|_| ContactError::InvalidName)?;
        Ok(PersonName(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name an erased one reads as ([`crate::personal::ERASED_TEXT`]).
    pub fn erased() -> Self {
        PersonName(crate::personal::ERASED_TEXT.to_owned())
    }
}

impl TryFrom<String> for PersonName {
    type Error = ContactError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        PersonName::new(value)
    }
}

impl From<PersonName> for String {
    fn from(name: PersonName) -> Self {
        name.0
    }
}

/// A shipping address. `country` is an ISO 3166-1 alpha-2 code; text fields are
/// trimmed of nothing and limited in length so a label can print them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PostalAddressFields", into = "PostalAddressFields")]
pub struct PostalAddress(PostalAddressFields);

/// The fields of a [`PostalAddress`] as they are sent and stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddressFields {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub country: String,
}

/// Whether `code` is shaped like an ISO 3166-1 alpha-2 country code (`DE`): what
/// addresses, shipping methods and tax rates all accept.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl PostalAddress {
    const MAX_FIELD: usize = 200;

    pub fn new(fields: PostalAddressFields) -> Result<Self, ContactError> {
        let required = [
            ("name", &fields.name),
            ("line1", &fields.line1),
            ("city", &fields.city),
            ("postal_code", &fields.postal_code),
        ];
        for (field, value) in required {
            check_text(field, value, true)?;
        }
        for (field, value) in [("line2", &fields.line2), ("region", &fields.region)] {
            if let Some(value) = value {
                check_text(field, value, false)?;
            }
        }
        if !is_country_code(&fields.country) {
            return Err(ContactError::InvalidAddress {
                field: "country",
                problem: "must be an ISO 3166-1 alpha-2 code such as \"DE\"",
            });
        }
        Ok(PostalAddress(fields))
    }

    pub fn fields(&self) -> &PostalAddressFields {
        &self.0
    }

    /// This address as it reads once erased: the person's parts
    /// ([`crate::personal`] seals them) erased, country and region kept.
    pub fn erased(&self) -> Self {
        let erased = || crate::personal::ERASED_TEXT.to_owned();
        let fields = &self.0;
        PostalAddress(PostalAddressFields {
            name: erased(),
            line1: erased(),
            line2: fields.line2.as_ref().map(|_| erased()),
            city: erased(),
            postal_code: erased(),
            region: fields.region.clone(),
            country: fields.country.clone(),
        })
    }
}

fn check_text(field: &'static str, value: &str, required: bool) -> Result<(), ContactError> {
    let problem = if required && value.trim().is_empty() {
        Some("must not be empty")
    } else if value.chars().count() > PostalAddress::MAX_FIELD {
        Some("is longer than 200 characters")
    } else if value.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ContactError::InvalidAddress { field, problem }),
        None => Ok(()),
    }
}

impl TryFrom<PostalAddressFields> for PostalAddress {
    type Error = ContactError;

    fn try_from(fields: PostalAddressFields) -> Result<Self, Self::Error> {
        PostalAddress::new(fields)
    }
}

impl From<PostalAddress> for PostalAddressFields {
    fn from(address: PostalAddress) -> Self {
        address.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> PostalAddressFields {
        PostalAddressFields {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: None,
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            region: None,
            country: "GB".into(),
        }
    }

    #[test]
    fn accepts_ordinary_email_addresses() {
        for ok in ["a@b.co", "ada.lovelace+shop@example.org", "ü@exämple.de"] {
            assert!(Email::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_email_address() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "", "a", "@b.co", "a@", "a@b", "a@@b.co", "a b@c.de", "a@b..de", &long,
        ] {
            assert!(Email::new(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<Email>(serde_json::json!("nope")).is_err());
    }

    #[test]
    fn accepts_a_complete_address_and_round_trips_it() {
        let address = PostalAddress::new(fields()).unwrap();
        let json = serde_json::to_value(&address).unwrap();
        assert_eq!(json["country"], "GB");
        assert_eq!(
            serde_json::from_value::<PostalAddress>(json).unwrap(),
            address
        );
    }

    #[test]
    fn refuses_incomplete_or_malformed_addresses() {
        let mut empty_city = fields();
        empty_city.city = "  ".into();
        let mut bad_country = fields();
        bad_country.country = "GBR".into();
        let mut control = fields();
        control.line2 = Some("a\u{0}b".into());
        let mut long = fields();
        long.name = "x".repeat(201);
        for bad in [empty_city, bad_country, control, long] {
            assert!(PostalAddress::new(bad).is_err());
        }
        let unknown = serde_json::json!({"name": "a", "line1": "b", "city": "c",
            "postal_code": "d", "country": "DE", "planet": "Mars"});
        assert!(serde_json::from_value::<PostalAddress>(unknown).is_err());
    }
}
