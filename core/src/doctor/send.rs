//! Sending what Sluice signs as a client would: a presigned PUT with its headers (or
//! deliberately other ones), and a browser-form POST built by hand (a multipart body
//! with the policy's fields first and the file last).

use std::collections::BTreeMap;

use crate::storage::PresignedPost;

/// What the store answered.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    /// The store's `Date` header, when it sent one.
    pub date: Option<String>,
    /// The start of the body (an S3 error document names its code).
    pub body: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `HTTP 403 SignatureDoesNotMatch`, for the report.
    pub fn describe(&self) -> String {
        let code = crate::storage::xml_code(&self.body);
        if code.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {} {code}", self.status)
        }
    }
}

/// PUTs `body` to `url` with `headers` (the signed ones, possibly altered on purpose).
pub async fn put(
    http: &reqwest::Client,
    url: &str,
    headers: &BTreeMap<String, String>,
    body: Vec<u8>,
) -> Result<Answer, String> {
    let mut request = http.put(url).body(body);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    answer(request.send().await.map_err(|e| e.to_string())?).await
}

/// POSTs the form of `post` with `file` as its file field.
pub async fn post_form(
    http: &reqwest::Client,
    post: &PresignedPost,
    content_type: &str,
    file: &[u8],
) -> Result<Answer, String> {
    let boundary = format!("sluice-doctor-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, value) in &post.fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"doctor\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let response = http
        .post(&post.url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Result<Answer, String> {
    let status = response.status().as_u16();
    let date = response
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        date,
        body: body.chars().take(2_000).collect(),
    })
}
