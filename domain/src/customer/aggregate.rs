//! The customer's state, rebuilt from its events, and its decisions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{
    AddressId, CustomerCommand, CustomerError, CustomerEvent, CustomerId, SignUp, MAX_ADDRESSES,
};
use crate::shared::{Email, PersonName, PostalAddress};

/// A customer account; `Default` is the account before `RegisterCustomer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    state: Option<CustomerState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerState {
    pub id: CustomerId,
    pub email: Email,
    pub email_verified: bool,
    pub name: PersonName,
    pub sign_up: SignUp,
    pub addresses: BTreeMap<AddressId, PostalAddress>,
    pub default_shipping_address: Option<AddressId>,
    pub registered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
}

impl CustomerState {
    /// The default shipping address, if the book has one.
    pub fn shipping_address(&self) -> Option<&PostalAddress> {
        self.default_shipping_address
            .and_then(|id| self.addresses.get(&id))
    }
}

type Decision = Result<Vec<CustomerEvent>, CustomerError>;

impl Customer {
    pub fn state(&self) -> Option<&CustomerState> {
        self.state.as_ref()
    }

    pub fn decide(&self, command: CustomerCommand) -> Decision {
        let state = match (&self.state, command) {
            (
                None,
                CustomerCommand::RegisterCustomer {
                    customer_id,
                    email,
                    name,
                    sign_up,
                    registered_at,
                },
            ) => {
                let email_verified = matches!(sign_up, SignUp::External { .. });
                return Ok(vec![CustomerEvent::CustomerRegistered {
                    customer_id,
                    email,
                    name,
                    sign_up,
                    email_verified,
                    registered_at,
                }]);
            }
            (None, _) => return Err(CustomerError::NotFound),
            (Some(_), CustomerCommand::RegisterCustomer { .. }) => {
                return Err(CustomerError::AlreadyRegistered)
            }
            (Some(state), command) => (state, command),
        };
        let (state, command) = state;
        if state.erased_at.is_some() {
            return match command {
                CustomerCommand::EraseCustomer { .. } => Ok(Vec::new()),
                _ => Err(CustomerError::Erased),
            };
        }
        if let CustomerCommand::EraseCustomer { erased_at } = command {
            return Ok(vec![CustomerEvent::CustomerErased { erased_at }]);
        }
        if state.closed_at.is_some() {
            return Err(CustomerError::Closed);
        }
        state.decide_open(command)
    }
}

impl CustomerState {
    /// The decisions of an open account.
    fn decide_open(&self, command: CustomerCommand) -> Decision {
        let events = match command {
            CustomerCommand::RegisterCustomer { .. } => {
                return Err(CustomerError::AlreadyRegistered)
            }
            CustomerCommand::EraseCustomer { erased_at } => {
                vec![CustomerEvent::CustomerErased { erased_at }]
            }
            CustomerCommand::VerifyEmail { email, verified_at } => {
                if email != self.email {
                    return Err(CustomerError::EmailMismatch);
                }
                if self.email_verified {
                    return Ok(Vec::new());
                }
                vec![CustomerEvent::CustomerEmailVerified { email, verified_at }]
            }
            CustomerCommand::ChangeEmail { email } => {
                if email == self.email {
                    return Ok(Vec::new());
                }
                vec![CustomerEvent::CustomerEmailChanged { email }]
            }
            CustomerCommand::ChangeName { name } => {
                if name == self.name {
                    return Ok(Vec::new());
                }
                vec![CustomerEvent::CustomerNameChanged { name }]
            }
            CustomerCommand::AddAddress {
                address_id,
                address,
            } => {
                if self.addresses.contains_key(&address_id) {
                    return Err(CustomerError::AddressExists);
                }
                if self.addresses.len() >= MAX_ADDRESSES {
                    return Err(CustomerError::TooManyAddresses { max: MAX_ADDRESSES });
                }
                vec![CustomerEvent::CustomerAddressAdded {
                    address_id,
                    address,
                }]
            }
            CustomerCommand::ChangeAddress {
                address_id,
                address,
            } => match self.addresses.get(&address_id) {
                None => return Err(CustomerError::UnknownAddress),
                Some(known) if *known == address => Vec::new(),
                Some(_) => vec![CustomerEvent::CustomerAddressChanged {
                    address_id,
                    address,
                }],
            },
            CustomerCommand::RemoveAddress { address_id } => {
                if !self.addresses.contains_key(&address_id) {
                    return Err(CustomerError::UnknownAddress);
                }
                vec![CustomerEvent::CustomerAddressRemoved {
                    address_id,
                    was_default: self.default_shipping_address == Some(address_id),
                }]
            }
            CustomerCommand::SetDefaultShippingAddress { address_id } => {
                if !self.addresses.contains_key(&address_id) {
                    return Err(CustomerError::UnknownAddress);
                }
                if self.default_shipping_address == Some(address_id) {
                    return Ok(Vec::new());
                }
                vec![CustomerEvent::DefaultShippingAddressSet { address_id }]
            }
            CustomerCommand::CloseAccount { closed_at } => {
                vec![CustomerEvent::CustomerAccountClosed { closed_at }]
            }
        };
        Ok(events)
    }
}

impl Aggregate for Customer {
    const TYPE: &'static str = "Customer";
    type Command = CustomerCommand;
    type Event = CustomerEvent;
    type Error = CustomerError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let Some(state) = &mut self.state else {
            if let CustomerEvent::CustomerRegistered {
                customer_id,
                email,
                name,
                sign_up,
                email_verified,
                registered_at,
            } = event
            {
                self.state = Some(CustomerState {
                    id: customer_id,
                    email,
                    email_verified,
                    name,
                    sign_up,
                    addresses: BTreeMap::new(),
                    default_shipping_address: None,
                    registered_at,
                    closed_at: None,
                    erased_at: None,
                });
            }
            return;
        };
        match event {
            CustomerEvent::CustomerRegistered { .. } => {}
            CustomerEvent::CustomerEmailVerified { .. } => state.email_verified = true,
            CustomerEvent::CustomerEmailChanged { email } => {
                state.email = email;
                state.email_verified = false;
            }
            CustomerEvent::CustomerNameChanged { name } => state.name = name,
            CustomerEvent::CustomerAddressAdded {
                address_id,
                address,
            }
            | CustomerEvent::CustomerAddressChanged {
                address_id,
                address,
            } => {
                state.addresses.insert(address_id, address);
            }
            CustomerEvent::CustomerAddressRemoved {
                address_id,
                was_default,
            } => {
                state.addresses.remove(&address_id);
                if was_default {
                    state.default_shipping_address = None;
                }
            }
            CustomerEvent::DefaultShippingAddressSet { address_id } => {
                state.default_shipping_address = Some(address_id);
            }
            CustomerEvent::CustomerAccountClosed { closed_at } => {
                state.closed_at = Some(closed_at);
            }
            CustomerEvent::CustomerErased { erased_at } => {
                // What this state held of the person goes with the key.
                state.erased_at = Some(erased_at);
                state.addresses.clear();
                state.default_shipping_address = None;
                // As the log reads them now that the key is gone.
                state.email = Email::erased();
                state.name = PersonName::erased();
            }
        }
    }
}
