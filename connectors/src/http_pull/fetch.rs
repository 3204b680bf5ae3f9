//! One GET of a page, classified: a whole body, a failure worth retrying (with the delay the API
//! asked for, if it did), or a refusal that retrying at once would only repeat.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_LENGTH, RETRY_AFTER};
use reqwest::StatusCode;

/// How the hub identifies itself to a department's API.
pub const USER_AGENT: &str = concat!("dhub/", env!("CARGO_PKG_VERSION"));

/// Credentials sent with every request.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(dhub_support::SecretString),
    Basic {
        username: String,
        password: dhub_support::SecretString,
    },
}

/// Why a page could not be had now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Worth trying again: a timeout, a connection failure, 408, 429, 5xx, a body cut off or over
    /// the limit. `after` is the API's `Retry-After` (429 and 503), if it gave one.
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// A 4xx other than 408 and 429 (a wrong token, a bad cursor, a moved endpoint), or a redirect
    /// not followed: the same request would get the same answer. Reported; asked again after the
    /// source's interval.
    Refused { message: String },
}

/// One GET of `url`, its body read whole and never past `max_body_bytes`.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    shown: &str,
    auth: &Auth,
    accept: &str,
    max_body_bytes: u64,
) -> Result<Vec<u8>, FetchError> {
    let retry = |message: String| FetchError::Retry {
        message,
        after: None,
    };
    let mut request = client.get(url).header(ACCEPT, accept);
    request = match auth {
        Auth::None => request,
        Auth::Bearer(token) => request.bearer_auth(token.expose()),
        Auth::Basic { username, password } => request.basic_auth(username, Some(password.expose())),
    };
    let mut response = request
        .send()
        .await
        .map_err(|error| retry(format!("GET {shown}: {}", describe(&error))))?;
    let status = response.status();
    if !status.is_success() {
        return Err(classify(
            status,
            response.headers(),
            shown,
            SystemTime::now(),
        ));
    }
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = declared {
        if length > max_body_bytes {
            return Err(retry(format!(
                "GET {shown}: the page is {length} bytes, over the source's limit of {max_body_bytes} bytes (max_body_bytes); raise it if the API's pages are that large"
            )));
        }
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > max_body_bytes {
                    return Err(retry(format!(
                        "GET {shown}: the page is over the source's limit of {max_body_bytes} bytes (max_body_bytes); raise it if the API's pages are that large"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(error) => {
                return Err(retry(format!(
                    "GET {shown}: the page was cut off after {} bytes{}: {}",
                    body.len(),
                    declared.map(|l| format!(" of {l}")).unwrap_or_default(),
                    describe(&error)
                )))
            }
        }
    }
    // The client already fails a body shorter than its length; checked here too, since a half
    // page must never be stored.
    if let Some(length) = declared {
        if body.len() as u64 != length {
            return Err(retry(format!(
                "GET {shown}: the page was cut off after {} of {length} bytes",
                body.len()
            )));
        }
    }
    Ok(body)
}

/// A failed status: 408, 429 and 5xx are retried (429 and 503 after their `Retry-After`); every
/// other one is refused.
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    shown: &str,
    now: SystemTime,
) -> FetchError {
    let message = format!("GET {shown}: the API answered {status}");
    let retried = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if !retried {
        let hint = match status.as_u16() {
            401 | 403 => "; check the source's token or username and password",
            404 | 410 => "; check the source's url",
            400 => "; the API may not know the stored cursor",
            300..=399 => "; the redirect was not followed: put the new address in url",
            _ => "",
        };
        return FetchError::Refused {
            message: format!("{message}{hint}"),
        };
    }
    let after = (status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::SERVICE_UNAVAILABLE)
        .then(|| {
            headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, now))
        })
        .flatten();
    FetchError::Retry { message, after }
}

/// `Retry-After`: delay seconds, or an HTTP date (a date already past means now).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A client error without its URL (the caller names the page; a URL may carry a cursor the message
/// need not repeat) and with its cause, which reqwest keeps in the error's source chain.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out (timeout_ms)"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the body could not be read"
    } else {
        "the request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:30 GMT", now),
            Some(Duration::ZERO),
            "a date already past: now"
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn statuses_are_retried_or_refused() {
        let now = SystemTime::now();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        for status in [429, 503] {
            assert_eq!(
                classify(StatusCode::from_u16(status).unwrap(), &headers, "p", now),
                FetchError::Retry {
                    message: format!(
                        "GET p: the API answered {}",
                        StatusCode::from_u16(status).unwrap()
                    ),
                    after: Some(Duration::from_secs(7))
                }
            );
        }
        for status in [408, 500, 502, 504] {
            let classified = classify(StatusCode::from_u16(status).unwrap(), &headers, "p", now);
            assert!(
                matches!(classified, FetchError::Retry { after: None, .. }),
                "{status}: {classified:?}"
            );
        }
        for status in [400, 401, 403, 404, 410, 301] {
            let classified = classify(StatusCode::from_u16(status).unwrap(), &headers, "p", now);
            assert!(
                matches!(classified, FetchError::Refused { .. }),
                "{status}: {classified:?}"
            );
        }
    }
}
