//! The metadata every event carries: who acted, in which role, as part of which
//! conversation (correlation), because of what (causation), in which request, by
//! which command. Auditors filter on these; the event table derives indexed columns
//! from the keys below, so they must not change.

use std::collections::HashMap;

use uuid::Uuid;

/// The metadata keys, as stored in `events.metadata`.
pub mod keys {
    pub const ACTOR: &str = "actor";
    pub const ACTOR_ROLE: &str = "actor_role";
    pub const CORRELATION_ID: &str = "correlation_id";
    pub const CAUSATION_ID: &str = "causation_id";
    pub const REQUEST_ID: &str = "request_id";
    pub const COMMAND: &str = "command";
}

/// What the command side knows about a command besides its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMetadata {
    /// The subject of the actor: a user id, a service name, `guest:<cart>`.
    pub actor: String,
    pub actor_role: String,
    /// Shared by every command and event of one business conversation (a checkout
    /// and everything it causes).
    pub correlation_id: Uuid,
    /// The event or request that caused this command; `None` for a user's request.
    pub causation_id: Option<Uuid>,
    pub request_id: Uuid,
    /// The command's name, as in the route (`add-item`).
    pub command: String,
}

impl CommandMetadata {
    /// cqrs-es stores metadata as a map of strings.
    pub fn into_map(self) -> HashMap<String, String> {
        self.to_map()
    }

    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::with_capacity(6);
        map.insert(keys::ACTOR.to_owned(), self.actor.clone());
        map.insert(keys::ACTOR_ROLE.to_owned(), self.actor_role.clone());
        map.insert(
            keys::CORRELATION_ID.to_owned(),
            self.correlation_id.to_string(),
        );
        if let Some(causation_id) = self.causation_id {
            map.insert(keys::CAUSATION_ID.to_owned(), causation_id.to_string());
        }
        map.insert(keys::REQUEST_ID.to_owned(), self.request_id.to_string());
        map.insert(keys::COMMAND.to_owned(), self.command.clone());
        map
    }
}
