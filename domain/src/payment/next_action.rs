//! What the gateway asks of the customer before it decides (3-D Secure and the
//! like): open a page, or answer a challenge the storefront shows. The payment only
//! keeps it so a read model can send the customer there; it never follows it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NextActionError {
    #[error(
        "the next action's url must be an http(s) URL of at most 2048 printable ASCII characters"
    )]
    InvalidUrl,
    #[error("a challenge id must be 1 to 200 printable ASCII characters without spaces")]
    InvalidChallengeId,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "NextActionFields", into = "NextActionFields")]
pub struct NextAction(NextActionFields);

/// The shapes of a [`NextAction`] as they are sent and stored:
/// `{"redirect_to_url": {"url": "https://…"}}` or `{"challenge": {"challenge_id": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NextActionFields {
    /// The customer confirms on the gateway's (or the bank's) page.
    RedirectToUrl { url: String },
    /// The storefront shows the gateway's challenge with this id.
    Challenge { challenge_id: String },
}

impl NextAction {
    pub const MAX_URL_LEN: usize = 2048;
    pub const MAX_CHALLENGE_ID_LEN: usize = 200;

    pub fn redirect_to_url(url: impl Into<String>) -> Result<Self, NextActionError> {
        let url = url.into();
        let valid = url.len() <= Self::MAX_URL_LEN
            && url.bytes().all(|b| b.is_ascii_graphic())
            && ["https://", "http://"]
                .iter()
                .any(|scheme| url.len() > scheme.len() && url.starts_with(scheme));
        if !valid {
            return Err(NextActionError::InvalidUrl);
        }
        Ok(NextAction(NextActionFields::RedirectToUrl { url }))
    }

    pub fn challenge(challenge_id: impl Into<String>) -> Result<Self, NextActionError> {
        let challenge_id = challenge_id.into();
        if challenge_id.is_empty()
            || challenge_id.len() > Self::MAX_CHALLENGE_ID_LEN
            || !challenge_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(NextActionError::InvalidChallengeId);
        }
        Ok(NextAction(NextActionFields::Challenge { challenge_id }))
    }

    pub fn fields(&self) -> &NextActionFields {
        &self.0
    }
}

impl TryFrom<NextActionFields> for NextAction {
    type Error = NextActionError;

    fn try_from(fields: NextActionFields) -> Result<Self, Self::Error> {
        match fields {
            NextActionFields::RedirectToUrl { url } => NextAction::redirect_to_url(url),
            NextActionFields::Challenge { challenge_id } => NextAction::challenge(challenge_id),
        }
    }
}

impl From<NextAction> for NextActionFields {
    fn from(action: NextAction) -> Self {
        action.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_a_tagged_redirect_or_challenge() {
        let redirect = NextAction::redirect_to_url("https://bank.example/3ds?id=1").unwrap();
        let challenge = NextAction::challenge("chl_42").unwrap();
        assert_eq!(
            serde_json::to_value(&redirect).unwrap(),
            serde_json::json!({ "redirect_to_url": { "url": "https://bank.example/3ds?id=1" } })
        );
        assert_eq!(
            serde_json::to_value(&challenge).unwrap(),
            serde_json::json!({ "challenge": { "challenge_id": "chl_42" } })
        );
        for action in [redirect, challenge] {
            let json = serde_json::to_value(&action).unwrap();
            assert_eq!(serde_json::from_value::<NextAction>(json).unwrap(), action);
        }
    }

    #[test]
    fn refuses_urls_that_are_not_http_and_empty_challenges_even_when_deserializing() {
        for url in [
            "",
            "https://",
            "javascript:alert(1)",
            "ftp://x",
            "https://a b",
        ] {
            assert_eq!(
                NextAction::redirect_to_url(url),
                Err(NextActionError::InvalidUrl),
                "{url}"
            );
        }
        assert_eq!(
            NextAction::challenge(""),
            Err(NextActionError::InvalidChallengeId)
        );
        let bad = serde_json::json!({ "redirect_to_url": { "url": "javascript:alert(1)" } });
        assert!(serde_json::from_value::<NextAction>(bad).is_err());
    }
}
