//! Batch sessions through the HTTP API (`POST /v1/uploads/batch`, `GET /v1/batches/{id}`):
//! 500 items with refusals of every kind, a quota that fits only part of them (refused
//! whole, then taken when the batch fits), `batch_id` on every session, the summary, and
//! exactly one `batch.completed` once the last session settles (here by the sweep's
//! set-based expiry).

use std::time::Duration;

use super::*;
use sluice_tests::{Created, Leg, WEBHOOK_SECRET, WebhookReceiver, on_both_legs};

/// What an item of the test batch is, and what it must be answered.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Good,
    TooLarge,
    BadDigest,
    UnknownField,
    WrongType,
}

impl Kind {
    fn of(i: usize) -> Kind {
        match i % 50 {
            7 => Kind::TooLarge,
            17 => Kind::BadDigest,
            27 => Kind::UnknownField,
            37 => Kind::WrongType,
            _ => Kind::Good,
        }
    }

    fn item(self, i: usize) -> Value {
        let good =
            json!({"filename": format!("f{i}.txt"), "size": 3, "content_type": "text/plain"});
        let mut item = good.clone();
        match self {
            Kind::Good => {}
            Kind::TooLarge => item["size"] = json!(2 * 1024 * 1024),
            Kind::BadDigest => item["sha256"] = json!("not a digest"),
            Kind::UnknownField => item["colour"] = json!("blue"),
            Kind::WrongType => item["profile"] = json!("images"),
        }
        item
    }

    /// The status and code `POST /v1/uploads` answers for the item alone.
    fn expected(self) -> (u16, Option<ErrorCode>) {
        match self {
            Kind::Good => (201, None),
            Kind::TooLarge => (413, Some(ErrorCode::TooLarge)),
            Kind::BadDigest => (422, Some(ErrorCode::ValidationFailed)),
            Kind::UnknownField => (422, Some(ErrorCode::UnknownField)),
            Kind::WrongType => (415, Some(ErrorCode::TypeNotAllowed)),
        }
    }
}

/// The answer without its upload URLs, for assertion messages.
fn brief(answer: &Value) -> Value {
    let errors: Vec<&Value> = answer["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i.get("error")).collect())
        .unwrap_or_default();
    json!({"created": answer["created"], "refused": answer["refused"], "errors": errors,
           "code": answer["code"], "detail": answer["detail"], "quota": answer["quota"]})
}

async fn batch(app: &TestApp, token: &str, items: &[Value]) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/uploads/batch",
        Some(token),
        Some(json!({ "items": items })),
    )
    .await
}

async fn summary(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    app.call(Method::GET, &format!("/v1/batches/{id}"), Some(token), None)
        .await
}

async fn a_batch_of_500_with_refusals_and_a_quota_that_fits_part(leg: Leg) {
    let receiver = WebhookReceiver::start(&[]).await;
    let app = TestApp::build(leg)
        .env("SLUICE__PROFILES__DEFAULT__MAX_SIZE", "1MiB")
        .env("SLUICE__QUOTA__DAILY_UPLOADS", "450")
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__URL", &receiver.url)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__SECRET", WEBHOOK_SECRET)
        .env(
            "SLUICE__WEBHOOKS__ENDPOINTS__HOOK__EVENTS",
            "[\"batch.completed\"]",
        )
        .start()
        .await;
    let alice = app.token("alice");

    // 460 good items and 40 refused: the good ones together break the daily limit of 450.
    let kinds: Vec<Kind> = (0..500).map(Kind::of).collect();
    assert_eq!(kinds.iter().filter(|k| **k == Kind::Good).count(), 460);
    let items: Vec<Value> = kinds.iter().enumerate().map(|(i, k)| k.item(i)).collect();
    let (status, problem) = batch(&app, &alice, &items).await;
    assert_problem!(status, &problem, ErrorCode::QuotaExceeded);
    assert_eq!(problem["quota"]["limit"], "daily_uploads", "{problem}");
    assert_eq!(problem["quota"]["value"], 450, "{problem}");
    assert_eq!(problem["quota"]["usage"], 0, "{problem}");
    assert_eq!(problem["quota"]["remaining"], 450, "{problem}");
    // Refused whole: nothing was written.
    let (_, quota) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
    assert_eq!(quota["total"]["usage"]["uploads_today"], 0, "{quota}");

    // Without the last 20 good items, the 440 left fit.
    let mut dropped = 0;
    let mut kept: Vec<(usize, Kind)> = Vec::new();
    for (i, kind) in kinds.iter().enumerate().rev() {
        if *kind == Kind::Good && dropped < 20 {
            dropped += 1;
        } else {
            kept.push((i, *kind));
        }
    }
    kept.reverse();
    let items: Vec<Value> = kept.iter().map(|(i, k)| k.item(*i)).collect();
    let (status, answer) = batch(&app, &alice, &items).await;
    assert_eq!(status, StatusCode::CREATED, "{}", brief(&answer));
    assert_eq!(answer["created"], 440);
    assert_eq!(answer["refused"], 40);
    let batch_id = answer["batch_id"].as_str().expect("batch_id").to_owned();
    let answered = answer["items"].as_array().expect("items");
    assert_eq!(answered.len(), kept.len());
    let mut created: Vec<Created> = Vec::new();
    for (n, ((_, kind), item)) in kept.iter().zip(answered).enumerate() {
        assert_eq!(item["index"], n, "{item}");
        let (status, code) = kind.expected();
        assert_eq!(item["status"], status, "{kind:?}: {item}");
        match code {
            None => {
                assert_eq!(item["upload"]["batch_id"], batch_id.as_str(), "{item}");
                created.push(Created::from(item["upload"].clone()));
            }
            Some(code) => {
                assert_eq!(item["error"]["code"], code.as_str(), "{kind:?}: {item}");
                assert!(item.get("upload").is_none(), "{item}");
            }
        }
    }
    assert_eq!(
        answered
            .iter()
            .find(|i| i["error"]["code"] == "validation_failed")
            .map(|i| i["error"]["field"].clone()),
        Some(json!("sha256"))
    );
    let (_, quota) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
    assert_eq!(quota["total"]["usage"]["uploads_today"], 440, "{quota}");

    let (status, sum) = summary(&app, &alice, &batch_id).await;
    assert_eq!(status, StatusCode::OK, "{sum}");
    assert_eq!(sum["total"], 440);
    assert_eq!(sum["states"], json!({"pending": 440}));
    assert_eq!(sum["completed"], false);
    // Every session says which batch made it; another owner cannot see the batch.
    let one = app.session(&alice, &created[0].id).await;
    assert_eq!(one["batch_id"], batch_id.as_str(), "{one}");
    let (status, problem) = summary(&app, &app.token("bob"), &batch_id).await;
    assert_problem!(status, &problem, ErrorCode::NotFound);

    // 440 of 450 used: a batch of 20 is refused with the 10 that remain; 10 fit.
    let more: Vec<Value> = (0..20).map(|i| Kind::Good.item(1000 + i)).collect();
    let (status, problem) = batch(&app, &alice, &more).await;
    assert_problem!(status, &problem, ErrorCode::QuotaExceeded);
    assert_eq!(problem["quota"]["remaining"], 10, "{}", brief(&problem));
    let (status, answer) = batch(&app, &alice, &more[..10]).await;
    assert_eq!(status, StatusCode::CREATED, "{}", brief(&answer));
    assert_eq!(answer["created"], 10);
    let other_batch = answer["batch_id"].as_str().expect("batch_id").to_owned();

    // Five are uploaded; the rest expire together at their deadline.
    for c in &created[..5] {
        assert!(app.put(c, b"abc".to_vec()).await.is_success());
        let (status, session) = app.complete(&alice, &c.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
    }
    app.drain_jobs().await;
    assert!(
        receiver.received().is_empty(),
        "announced before every session settled"
    );
    // The sweep expires them set-based (one transition of the lot, one cleanup job per
    // 1,000 owed rounds): each batch's count falls in one statement, and exactly one
    // transition reaches zero for each batch.
    app.advance(Duration::from_secs(3600 + 60));
    let report = app.running.sweep_now().await;
    eprintln!("sweep: {report:?}");
    app.drain_jobs().await;
    let (_, sum) = summary(&app, &alice, &batch_id).await;
    assert_eq!(
        sum["states"],
        json!({"uploaded": 5, "expired": 435}),
        "{sum}"
    );
    assert_eq!(sum["completed"], true, "{sum}");
    assert!(sum["completed_at"].is_string(), "{sum}");
    let heard: Vec<Value> = receiver.received().into_iter().map(|r| r.body).collect();
    let completed_of = |id: &str| -> Vec<sluice_tests::Received> {
        receiver
            .received()
            .into_iter()
            .filter(|r| r.body["type"] == "batch.completed" && r.body["data"]["batch"]["id"] == id)
            .collect()
    };
    let completed = completed_of(&batch_id);
    assert_eq!(completed.len(), 1, "exactly one batch.completed: {heard:?}");
    // The other batch (ten sessions, all expired) is announced on its own, once.
    let other = completed_of(&other_batch);
    assert_eq!(other.len(), 1, "{heard:?}");
    assert_eq!(
        other[0].body["data"]["batch"]["states"],
        json!({"expired": 10})
    );
    let data = &completed[0].body["data"]["batch"];
    assert_eq!(data["id"], batch_id.as_str());
    assert_eq!(data["states"], json!({"uploaded": 5, "expired": 435}));
    assert!(completed[0].signature_valid);
    // Nothing more is announced for the batch later.
    app.advance_and_drain(Duration::from_secs(3600)).await;
    assert_eq!(completed_of(&batch_id).len(), 1);
    assert_eq!(completed_of(&other_batch).len(), 1);

    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    a_batch_of_500,
    a_batch_of_500_with_refusals_and_a_quota_that_fits_part
);

e2e!(
    a_batch_request_out_of_bounds_is_refused_whole,
    with | b | b.env("SLUICE__BATCH__MAX_ITEMS", "3"),
    |app| {
        let alice = app.token("alice");
        let item = Kind::Good.item(0);
        let (status, problem) = batch(&app, &alice, &[]).await;
        assert_problem!(status, &problem, ErrorCode::ValidationFailed);
        assert_eq!(problem["field"], "items");
        let four = vec![item.clone(); 4];
        let (status, problem) = batch(&app, &alice, &four).await;
        assert_problem!(status, &problem, ErrorCode::ValidationFailed);
        let (status, problem) = app
            .call(
                Method::POST,
                "/v1/uploads/batch",
                Some(&alice),
                Some(json!({"items": [item], "extra": 1})),
            )
            .await;
        assert_problem!(status, &problem, ErrorCode::UnknownField);
        let answer = app
            .http
            .post(format!("{}/v1/uploads/batch", app.api))
            .bearer_auth(&alice)
            .header("content-type", "text/plain")
            .body("{\"items\": []}")
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // Every item refused: 200, no batch.
        let (status, answer) = batch(&app, &alice, &[Kind::BadDigest.item(1)]).await;
        assert_eq!(status, StatusCode::OK, "{}", brief(&answer));
        assert!(answer.get("batch_id").is_none(), "{}", brief(&answer));
        assert_eq!(answer["created"], 0);
        let (status, problem) = summary(&app, &alice, "00000000-0000-0000-0000-000000000000").await;
        assert_problem!(status, &problem, ErrorCode::NotFound);
    }
);

e2e!(
    a_batch_item_above_the_threshold_is_a_multipart_upload,
    with | b
        | b.env("SLUICE__PROFILES__DEFAULT__MULTIPART_THRESHOLD", "1MiB")
            .env("SLUICE__PROFILES__DEFAULT__PART_SIZE", "5MiB"),
    |app| {
        let alice = app.token("alice");
        let big = sluice_tests::patterned(6 * 1024 * 1024 + 5, 8);
        let (status, answer) = batch(
            &app,
            &alice,
            &[
                Kind::Good.item(0),
                json!({"filename": "big.bin", "size": big.len(), "content_type": "application/octet-stream"}),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{}", brief(&answer));
        let large = &answer["items"][1]["upload"];
        assert_eq!(large["method"], "multipart", "{large}");
        assert_eq!(large["multipart"]["part_count"], 2, "{large}");
        assert!(large.get("put").is_none(), "{large}");
        let id = large["id"].as_str().expect("id");
        let key = large["key"].as_str().expect("key");
        app.upload_parts(&alice, id, &big, 5 * 1024 * 1024, &[1, 2])
            .await;
        let (status, done) = app.complete(&alice, id).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["batch_id"], answer["batch_id"], "{done}");
        assert_eq!(app.object_bytes(key).await, big);
    }
);
