//! The decision core's risk port over orion-risk: the circuit breaker first,
//! then the capital manager, which holds a reservation of both legs' cost
//! until the execution finishes. It lives in orion-risk
//! ([`orion_risk::DecisionGate`]) so that the backtester runs the same code.

pub use orion_risk::DecisionGate as RiskGate;
