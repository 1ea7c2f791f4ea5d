//! The configuration layers (`from_layers`: a TOML text and environment variables, no
//! I/O) on any input. The input is TOML, then optionally a line `#ENV` followed by
//! `KEY=VALUE` lines. An env value may hold `@SECRET@`, replaced by a marker: when only
//! secret settings carry it, the marker never shows in the loaded settings' `Debug` nor
//! in any error message (secrets never reach logs). Loading is deterministic, a success
//! always has a `default` profile, and size units read back what they print.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_core::config::{ByteSize, Dur, from_layers};

const PLACEHOLDER: &str = "@SECRET@";
const MARKER: &str = "Zq7SecretMarker0123456789abcdefXYZ";

/// The settings kept as `SecretString`, by the environment names that set them.
fn is_secret(key: &str) -> bool {
    const EXACT: &[&str] = &[
        "SLUICE__DATABASE__URL",
        "SLUICE__QUEUE__REDIS_URL",
        "SLUICE__STORAGE__SECRET_ACCESS_KEY",
        "SLUICE__AUTH__TOKEN_SECRET",
        "SLUICE__AUTH__SERVICE_KEYS",
        "SLUICE__AUTH__ADMIN_KEYS",
        "SLUICE__AUDIT__HTTP_TOKEN",
    ];
    EXACT.contains(&key)
        || (key.starts_with("SLUICE__WEBHOOKS__ENDPOINTS__") && key.ends_with("__SECRET"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml_text, env_text) = match text.split_once("\n#ENV\n") {
        Some((t, e)) => (t, e),
        None => (text, ""),
    };
    // Real environments hold no NUL and no `=` in names.
    let env: Vec<(String, String)> = env_text
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(k, v)| !k.contains('\0') && !v.contains('\0'))
        .map(|(k, v)| (k.to_owned(), v.replace(PLACEHOLDER, MARKER)))
        .collect();
    let marker_only_in_secrets = !toml_text.contains(MARKER)
        && !env_text.contains(MARKER)
        && env.iter().all(|(k, v)| !v.contains(MARKER) || is_secret(k));

    let first = from_layers(toml_text, env.clone());
    let again = from_layers(toml_text, env.clone());
    match (&first, &again) {
        (Ok(settings), Ok(same)) => {
            let shown = format!("{settings:?}");
            assert_eq!(shown, format!("{same:?}"), "loading is not deterministic");
            assert!(settings.profiles.contains_key("default"));
            if marker_only_in_secrets {
                assert!(!shown.contains(MARKER), "a secret reached Debug: {shown}");
            }
        }
        (Err(e), Err(same)) => {
            let message = e.to_string();
            assert_eq!(message, same.to_string(), "errors are not deterministic");
            assert!(!message.is_empty());
            if marker_only_in_secrets {
                assert!(
                    !message.contains(MARKER),
                    "a secret reached an error message: {message}"
                );
            }
        }
        _ => panic!("the same input loaded once and failed once"),
    }

    // Units: what a size prints reads back as the same size; durations never panic.
    for (_, value) in &env {
        if let Ok(size) = value.parse::<ByteSize>() {
            assert_eq!(size.to_string().parse::<ByteSize>(), Ok(size), "{value:?}");
        }
        if let Ok(d) = value.parse::<Dur>() {
            let _ = d.chrono();
        }
    }
});
