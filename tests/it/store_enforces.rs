//! The store itself refuses what the signed headers forbid: another length, another
//! type, a second write to a one-time URL, a tampered URL.

use super::*;

e2e!(
    put_with_one_byte_more_or_less_is_refused_by_the_store,
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 10).await;
        assert_eq!(
            app.put(&created, vec![b'x'; 11]).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.put(&created, vec![b'x'; 9]).await,
            StatusCode::FORBIDDEN
        );
        assert!(!app.object_exists(&created.key).await);
        assert!(app.put(&created, vec![b'x'; 10]).await.is_success());
    }
);

e2e!(
    put_with_another_content_type_is_refused_by_the_store,
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 4).await;
        let status = app
            .put_with(&created, b"four".to_vec(), &[("content-type", "text/html")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!app.object_exists(&created.key).await);
    }
);

e2e!(second_put_to_a_one_time_url_is_refused, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 4).await;
    assert!(app.put(&created, b"four".to_vec()).await.is_success());
    let again = app.put(&created, b"FOUR".to_vec()).await;
    assert_eq!(again, StatusCode::PRECONDITION_FAILED);
    let (status, session) = app.complete(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK, "{session}");
});

e2e!(a_reusable_profile_allows_a_second_put, |app| {
    let alice = app.token("alice");
    let created = app
        .create(&alice, json!({"profile": "reusable", "filename": "a.txt", "size": 4, "content_type": "text/plain"}))
        .await;
    assert!(!created.headers.iter().any(|(k, _)| k == "if-none-match"));
    assert!(app.put(&created, b"four".to_vec()).await.is_success());
    assert!(app.put(&created, b"FOUR".to_vec()).await.is_success());
});

e2e!(tampered_urls_are_refused, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 4).await;
    let other = app.create_text(&alice, 4).await;
    // Point the signature of one session at another session's key.
    let retargeted = Created {
        url: created.url.replace(&created.key, &other.key),
        ..created.clone()
    };
    assert_eq!(
        app.put(&retargeted, b"four".to_vec()).await,
        StatusCode::FORBIDDEN
    );
    // Stretch the expiry.
    let stretched = Created {
        url: created.url.replace("X-Amz-Expires=", "X-Amz-Expires=9"),
        ..created.clone()
    };
    assert_eq!(
        app.put(&stretched, b"four".to_vec()).await,
        StatusCode::FORBIDDEN
    );
    // Flip a character of the signature.
    let (head, sig) = created
        .url
        .rsplit_once("X-Amz-Signature=")
        .expect("signed url");
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == 'a' { 'b' } else { 'a' }
            } else {
                c
            }
        })
        .collect();
    let forged = Created {
        url: format!("{head}X-Amz-Signature={flipped}"),
        ..created.clone()
    };
    assert_eq!(
        app.put(&forged, b"four".to_vec()).await,
        StatusCode::FORBIDDEN
    );
    assert!(!app.object_exists(&created.key).await);
    assert!(!app.object_exists(&other.key).await);
});

use sluice_tests::Created;
