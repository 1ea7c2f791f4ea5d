//! Every transition leaves exactly one audit event, and racing writers cannot both win:
//! the compare-and-set on (state, version) lets one transition through.

use super::*;
use sluice_core::ids::UploadId;
use sluice_core::test_support::upload as repo;

async fn trail(app: &TestApp, id: &str) -> Vec<(Option<String>, String, String)> {
    let id = UploadId(id.parse().expect("uuid"));
    repo::events(&app.running.core.db, id)
        .await
        .expect("audit events")
        .into_iter()
        // Transitions only: the cleanup the delete owes may run (and note itself, kind
        // `cleanup`) before the trail is read.
        .filter(|e| e.kind == "transition")
        .map(|e| (e.from_state, e.to_state, e.actor))
        .collect()
}

fn edge(from: Option<&str>, to: &str, actor: &str) -> (Option<String>, String, String) {
    (from.map(str::to_owned), to.to_owned(), actor.to_owned())
}

e2e!(every_transition_is_audited_once_in_order, |app| {
    let alice = app.token("alice");
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    let (status, file) = app.commit(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK);
    let file_id = file["id"].as_str().expect("id");
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{file_id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let owner = "owner:alice";
    assert_eq!(
        trail(&app, &created.id).await,
        vec![
            edge(None, "pending", owner),
            edge(Some("pending"), "verifying", owner),
            edge(Some("verifying"), "uploaded", owner),
            edge(Some("uploaded"), "committed", owner),
            edge(Some("committed"), "deleted", owner),
        ]
    );
});

e2e!(concurrent_completes_verify_once, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    assert!(app.put(&created, b"abc".to_vec()).await.is_success());
    let calls = (0..8).map(|_| app.complete(&alice, &created.id));
    let results = futures::future::join_all(calls).await;
    for (status, session) in &results {
        assert_eq!(*status, StatusCode::OK, "{session}");
        assert_eq!(session["state"], "uploaded");
    }
    let verified = trail(&app, &created.id)
        .await
        .into_iter()
        .filter(|(_, to, _)| to == "uploaded")
        .count();
    assert_eq!(verified, 1, "exactly one writer may verify");
});
