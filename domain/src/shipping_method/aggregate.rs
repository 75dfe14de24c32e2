//! The shipping method's state, rebuilt from its events, and its decisions.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{
    ShippingMethodCommand, ShippingMethodDefinition, ShippingMethodError, ShippingMethodEvent,
    ShippingMethodId, ShippingOffer,
};

/// A shipping method; `Default` is the method before `DefineShippingMethod`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShippingMethod {
    state: Option<ShippingMethodState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingMethodState {
    pub id: ShippingMethodId,
    pub definition: ShippingMethodDefinition,
    pub retired_at: Option<DateTime<Utc>>,
    pub defined_at: DateTime<Utc>,
}

type Decision = Result<Vec<ShippingMethodEvent>, ShippingMethodError>;

impl ShippingMethod {
    pub fn state(&self) -> Option<&ShippingMethodState> {
        self.state.as_ref()
    }

    pub fn decide(&self, command: ShippingMethodCommand) -> Decision {
        match (&self.state, command) {
            (
                None,
                ShippingMethodCommand::DefineShippingMethod {
                    method_id,
                    definition,
                    defined_at,
                },
            ) => {
                definition.validate()?;
                Ok(vec![ShippingMethodEvent::ShippingMethodDefined {
                    method_id,
                    definition,
                    defined_at,
                }])
            }
            (None, _) => Err(ShippingMethodError::NotFound),
            (Some(_), ShippingMethodCommand::DefineShippingMethod { .. }) => {
                Err(ShippingMethodError::AlreadyExists)
            }
            (Some(state), _) if state.retired_at.is_some() => Err(ShippingMethodError::Retired),
            (Some(state), ShippingMethodCommand::ChangeShippingMethod { definition }) => {
                definition.validate()?;
                if definition == state.definition {
                    return Ok(Vec::new());
                }
                Ok(vec![ShippingMethodEvent::ShippingMethodChanged {
                    definition,
                }])
            }
            (Some(_), ShippingMethodCommand::RetireShippingMethod { retired_at }) => {
                Ok(vec![ShippingMethodEvent::ShippingMethodRetired {
                    retired_at,
                }])
            }
        }
    }
}

impl ShippingMethodState {
    /// The method as pricing reads it; `None` once retired.
    pub fn offer(&self) -> Option<ShippingOffer> {
        if self.retired_at.is_some() {
            return None;
        }
        let definition = &self.definition;
        Some(ShippingOffer {
            id: self.id,
            name: definition.name.clone(),
            price: definition.price,
            free_above: definition.free_above,
            countries: definition.countries.clone(),
        })
    }
}

impl Aggregate for ShippingMethod {
    const TYPE: &'static str = "ShippingMethod";
    type Command = ShippingMethodCommand;
    type Event = ShippingMethodEvent;
    type Error = ShippingMethodError;
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
        match (&mut self.state, event) {
            (
                None,
                ShippingMethodEvent::ShippingMethodDefined {
                    method_id,
                    definition,
                    defined_at,
                },
            ) => {
                self.state = Some(ShippingMethodState {
                    id: method_id,
                    definition,
                    retired_at: None,
                    defined_at,
                });
            }
            (Some(state), ShippingMethodEvent::ShippingMethodChanged { definition }) => {
                state.definition = definition;
            }
            (Some(state), ShippingMethodEvent::ShippingMethodRetired { retired_at }) => {
                state.retired_at = Some(retired_at);
            }
            _ => {}
        }
    }
}
