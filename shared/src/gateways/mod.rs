//! Gateways: one module each (`efi`, `stripe`, `asaas`), plus the simulators that stand in for
//! the real HTTP clients until those land, and the inbound webhook registry.

pub mod asaas;
pub mod credential_form;
pub mod efi;
pub mod http_errors;
pub mod keys;
pub mod live;
pub mod simulator;
pub mod stripe;
pub mod webhooks;

use crate::ports::GatewayRegistry;
use simulator::SimulatorGateway;
use std::sync::Arc;

/// A registry holding the three simulators, the dev server's default.
pub fn simulators() -> (GatewayRegistry, [Arc<SimulatorGateway>; 3]) {
    simulators_with_clock(Arc::new(crate::clock::SystemClock))
}

/// The three simulators, stamping expiries from `clock` (the service's, in tests).
pub fn simulators_with_clock(
    clock: Arc<dyn crate::clock::Clock>,
) -> (GatewayRegistry, [Arc<SimulatorGateway>; 3]) {
    let efi = Arc::new(SimulatorGateway::efi().with_clock(clock.clone()));
    let stripe = Arc::new(SimulatorGateway::stripe().with_clock(clock.clone()));
    let asaas = Arc::new(SimulatorGateway::asaas().with_clock(clock));
    let mut reg = GatewayRegistry::default();
    reg.register(efi.clone());
    reg.register(stripe.clone());
    reg.register(asaas.clone());
    (reg, [efi, stripe, asaas])
}
