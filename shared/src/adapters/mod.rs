//! Adapters for the ports: in memory and on AWS (DynamoDB, SQS).

pub mod aws;
pub mod http;
pub mod memory;
