//! `/metrics` after one upload's whole life (create, PUT, complete, commit, download link,
//! delete, cleanup), parsed with a Prometheus text-format parser, every family present
//! with the counts that life implies.

use super::*;

pub(crate) struct Scrape(prometheus_parse::Scrape);

impl Scrape {
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.last().map_or(0.0, |b| b.count)
                }
                prometheus_parse::Value::Summary(_) => 0.0,
            })
            .sum()
    }
}

pub(crate) async fn scrape(app: &TestApp) -> Scrape {
    let resp = app
        .http
        .get(format!("{}/metrics", app.api))
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = resp.text().await.expect("text");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    Scrape(prometheus_parse::Scrape::parse(lines).expect("Prometheus text format"))
}

e2e!(metrics_after_an_uploads_whole_life, |app| {
    let alice = app.token("alice");
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    let (_, file) = app.commit(&alice, &created.id).await;
    let file_id = file["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/files/{file_id}/download-url"),
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{file_id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.drain_jobs().await;

    let m = scrape(&app).await;
    let http = |route: &str, method: &str, status: &str| {
        m.value(
            "sluice_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(http("/v1/uploads", "POST", "201"), 1.0);
    assert_eq!(http("/v1/uploads/:id/complete", "POST", "200"), 1.0);
    assert_eq!(http("/v1/uploads/:id/commit", "POST", "200"), 1.0);
    assert_eq!(http("/v1/files/:id/download-url", "POST", "200"), 1.0);
    assert_eq!(http("/v1/files/:id", "DELETE", "204"), 1.0);
    assert_eq!(
        m.value(
            "sluice_http_request_duration_seconds_count",
            &[("route", "/v1/uploads")]
        ),
        1.0
    );
    assert_eq!(m.value("sluice_presigns_total", &[("kind", "put")]), 1.0);
    assert_eq!(m.value("sluice_presigns_total", &[("kind", "get")]), 1.0);
    // One HEAD, the verification's: the cleanup sends no HEAD (what it frees comes from
    // what Sluice recorded), and deletes in one DeleteObjects; no ranged GET.
    assert_eq!(
        m.value(
            "sluice_store_operations_total",
            &[("operation", "head"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "sluice_store_operations_total",
            &[("operation", "delete_many"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        m.value("sluice_store_operations_total", &[("operation", "delete")]),
        0.0
    );
    assert_eq!(
        m.value("sluice_store_operations_total", &[("operation", "get")]),
        0.0
    );
    for stage in ["declared", "verified", "committed", "deleted"] {
        assert_eq!(
            m.value("sluice_bytes_total", &[("stage", stage)]),
            3.0,
            "{stage}"
        );
    }
    assert_eq!(m.value("sluice_sessions", &[("state", "deleted")]), 1.0);
    assert_eq!(m.value("sluice_sessions", &[("state", "pending")]), 0.0);
    // The late cleanup round (after the last URL expires) is stored, not due.
    assert_eq!(m.value("sluice_jobs", &[("measure", "stored")]), 1.0);
    assert_eq!(m.value("sluice_jobs", &[("measure", "due")]), 0.0);
    assert_eq!(
        m.value("sluice_jobs", &[("measure", "oldest_due_age_seconds")]),
        0.0
    );
    assert_eq!(
        m.value(
            "sluice_job_runs_total",
            &[("kind", "cleanup_session"), ("outcome", "done")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "sluice_job_duration_seconds_count",
            &[("kind", "cleanup_session")]
        ),
        1.0
    );
    assert_eq!(m.value("sluice_cleanup_owed", &[("measure", "all")]), 1.0);
    assert_eq!(
        m.value("sluice_cleanup_owed", &[("measure", "overdue")]),
        0.0
    );
    assert_eq!(m.value("sluice_quota_repairs_total", &[]), 0.0);
    // A request id comes back, the client's own when it sent a sane one.
    let resp = app
        .http
        .get(format!("{}/healthz", app.api))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.headers()["x-request-id"], "trace-42");
    let resp = app
        .http
        .get(format!("{}/healthz", app.api))
        .send()
        .await
        .expect("get");
    assert!(!resp.headers()["x-request-id"].is_empty());
});
