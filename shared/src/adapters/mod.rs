//! Adapters for the ports: in memory and on DynamoDB.

pub mod dynamo;
pub mod memory;
