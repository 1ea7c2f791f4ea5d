//! `WebhookReceiver`: a port-0 HTTP endpoint that plays the application beside Sluice. It
//! checks every webhook's Standard Webhooks signature with its own HMAC code (not
//! Sluice's), answers the statuses a test scripts (then 200), and records what arrived.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// A secret for tests, `whsec_` and 32 bytes of base64.
pub const WEBHOOK_SECRET: &str = "whsec_c2x1aWNlLXRlc3Qtd2ViaG9vay1zZWNyZXQtMzIhIQ==";

/// One request that reached the receiver.
#[derive(Clone, Debug)]
pub struct Received {
    pub message_id: String,
    pub timestamp: i64,
    pub signature_valid: bool,
    pub body: Value,
    /// What the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct Shared {
    script: VecDeque<u16>,
    received: Vec<Received>,
    /// While set, every request is answered this (an endpoint that is down).
    down: Option<u16>,
}

pub struct WebhookReceiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    server: actix_web::dev::ServerHandle,
}

impl WebhookReceiver {
    /// Starts on a free port; answers `script` in order, then 200 to everything.
    pub async fn start(script: &[u16]) -> WebhookReceiver {
        let shared = Arc::new(Mutex::new(Shared {
            script: script.iter().copied().collect(),
            received: Vec::new(),
            down: None,
        }));
        let state = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("receiver binds");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        WebhookReceiver {
            url: format!("http://{addr}/hooks"),
            shared,
            server: handle,
        }
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("receiver lock").received.clone()
    }

    /// Answers these statuses next (then 200 again).
    pub fn answer(&self, statuses: &[u16]) {
        self.shared
            .lock()
            .expect("receiver lock")
            .script
            .extend(statuses.iter().copied());
    }

    /// Answers `status` to everything until [`WebhookReceiver::up`].
    pub fn down(&self, status: u16) {
        self.shared.lock().expect("receiver lock").down = Some(status);
    }

    /// Answers as scripted again (then 200).
    pub fn up(&self) {
        self.shared.lock().expect("receiver lock").down = None;
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Mutex<Shared>>>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let message_id = header("webhook-id");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or(0);
    let text = String::from_utf8_lossy(&body).into_owned();
    let signature_valid = header("webhook-signature")
        .split(' ')
        .any(|sig| sig == expected_signature(&message_id, timestamp, &text));
    let mut shared = shared.lock().expect("receiver lock");
    let answered = match shared.down {
        Some(status) => status,
        None => shared.script.pop_front().unwrap_or(200),
    };
    shared.received.push(Received {
        message_id,
        timestamp,
        signature_valid,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        answered,
    });
    let mut answer =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).expect("status"));
    if answered >= 300 {
        // A body an operator reads in the delivery's attempt log (its response excerpt).
        return answer.body(format!(
            "{{\"error\": \"the receiver answered {answered}\"}}"
        ));
    }
    answer.finish()
}

/// The Standard Webhooks signature, computed here independently of Sluice.
fn expected_signature(message_id: &str, timestamp: i64, body: &str) -> String {
    let key = STANDARD
        .decode(WEBHOOK_SECRET.trim_start_matches("whsec_"))
        .expect("test secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}
