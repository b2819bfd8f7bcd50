//! Streamable HTTP connections to downstream servers (`"type": "http"` entries).

use std::collections::{BTreeMap, HashMap};

use http::{HeaderName, HeaderValue};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

use super::downstream::Listener;

/// Connects to the server at `url`, sending `headers` with every request.
pub async fn connect(
    listener: Listener,
    url: &str,
    headers: &BTreeMap<String, String>,
) -> Result<rmcp::service::RunningService<rmcp::RoleClient, Listener>, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    let mut custom = HashMap::new();
    for (name, value) in headers {
        match bearer_token(name, value) {
            Some(token) => config = config.auth_header(token),
            None => {
                let name = HeaderName::try_from(name.as_str()).map_err(|e| format!("bad header name `{name}`: {e}"))?;
                let value = HeaderValue::try_from(value.as_str()).map_err(|e| format!("bad value for header `{name}`: {e}"))?;
                custom.insert(name, value);
            }
        }
    }
    let transport = StreamableHttpClientTransport::from_config(config.custom_headers(custom));
    listener
        .serve(transport)
        .await
        .map_err(|error| format!("cannot initialize over HTTP at {url}: {error}"))
}

/// The token of an `Authorization: Bearer …` header, which the transport sends itself.
fn bearer_token<'a>(name: &str, value: &'a str) -> Option<&'a str> {
    name.eq_ignore_ascii_case("authorization").then(|| value.strip_prefix("Bearer ")).flatten()
}
