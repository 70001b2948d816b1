//! The one request that is not an AWS API call: a GET of the pre-signed URL that ECR's
//! GetDownloadUrlForLayer returns for an image's config blob (a few KiB of JSON naming the
//! image's OS and architecture; never a layer). It runs on hyper-util with hyper-rustls, the
//! HTTP stack the SDK already links, so it adds nothing to the build.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use super::calls::{CallLog, Limited as _};
use crate::manifest::CONFIG_LIMIT_BYTES;

/// What the call log names the GET (it is not an AWS action).
pub const OPERATION: &str = "http:GET image config blob";

const TIMEOUT: Duration = Duration::from_secs(20);

pub struct BlobClient {
    client: Result<Client<HttpsConnector<HttpConnector>, Empty<Bytes>>, String>,
    calls: CallLog,
}

impl BlobClient {
    pub fn new(calls: CallLog) -> Self {
        let client = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map(|b| {
                let https = b.https_or_http().enable_http1().build();
                Client::builder(TokioExecutor::new()).build(https)
            })
            .map_err(|e| format!("cannot load the system's root certificates: {e}"));
        BlobClient { client, calls }
    }

    /// The body at `url` (whatever scheme and host it names), at most `CONFIG_LIMIT_BYTES`.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let started = Instant::now();
        let result = self.fetch(url).limited().await;
        self.calls
            .record(OPERATION, started.elapsed(), result.is_ok());
        result
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("the download URL ECR returned does not parse ({e})"))?;
        let request = http::Request::get(uri)
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))?
            .map_err(|e| super::errors::one_line(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the download URL answered HTTP {status}"));
        }
        let body = tokio::time::timeout(
            TIMEOUT,
            Limited::new(response.into_body(), CONFIG_LIMIT_BYTES).collect(),
        )
        .await
        .map_err(|_| format!("the body did not arrive within {} s", TIMEOUT.as_secs()))?
        .map_err(|e| {
            format!("reading the body failed or it is over {CONFIG_LIMIT_BYTES} bytes: {e}")
        })?;
        Ok(body.to_bytes().to_vec())
    }
}
