//! DynamoDB's JSON protocol over [`Conn`], signed with SigV4 as the AWS SDK signs: the bytes on
//! the wire of one call, without the SDK's per-call pipeline (no retries, no interceptors).

use crate::conn::{Conn, Error};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::Full;
use std::time::SystemTime;

/// A DynamoDB endpoint (plain HTTP on loopback) and the identity that signs for it.
pub struct Dynamo {
    conn: Conn,
    identity: Identity,
    region: String,
}

impl Dynamo {
    /// Reads `AWS_ENDPOINT_URL` (`http://host:port`), `AWS_REGION` and the static credentials
    /// from the environment, as a Lambda instance has them.
    pub fn from_env() -> Result<Self, Error> {
        let var = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
        let endpoint = var("AWS_ENDPOINT_URL")?;
        let addr = endpoint
            .strip_prefix("http://")
            .ok_or("AWS_ENDPOINT_URL: the floor speaks plain HTTP to a loopback endpoint")?
            .trim_end_matches('/')
            .to_string();
        let creds = Credentials::new(
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
            std::env::var("AWS_SESSION_TOKEN").ok(),
            None,
            "env",
        );
        Ok(Self {
            conn: Conn::new(addr),
            identity: creds.into(),
            region: var("AWS_REGION")?,
        })
    }

    /// One call of `target` (e.g. `TransactWriteItems`): its HTTP status and JSON answer.
    pub async fn call(
        &mut self,
        target: &str,
        body: Vec<u8>,
    ) -> Result<(u16, serde_json::Value), Error> {
        let mut req = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", self.conn.host())
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{target}"))
            .body(Full::new(Bytes::new()))?;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| Ok((k.as_str(), v.to_str()?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let signable = SignableRequest::new(
            "POST",
            format!("http://{}/", self.conn.host()),
            headers.into_iter(),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(&mut req);
        *req.body_mut() = Full::new(Bytes::from(body));
        let (parts, bytes) = self.conn.send(req).await?;
        Ok((parts.status.as_u16(), serde_json::from_slice(&bytes)?))
    }
}
