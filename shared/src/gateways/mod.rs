//! Gateways: one module each. The simulators stand in for all three until the real clients land.

pub mod simulator;

use crate::ports::GatewayRegistry;
use simulator::SimulatorGateway;
use std::sync::Arc;

/// A registry holding the three simulators, the dev server's default.
pub fn simulators() -> (GatewayRegistry, [Arc<SimulatorGateway>; 3]) {
    let efi = Arc::new(SimulatorGateway::efi());
    let stripe = Arc::new(SimulatorGateway::stripe());
    let asaas = Arc::new(SimulatorGateway::asaas());
    let mut reg = GatewayRegistry::default();
    reg.register(efi.clone());
    reg.register(stripe.clone());
    reg.register(asaas.clone());
    (reg, [efi, stripe, asaas])
}
