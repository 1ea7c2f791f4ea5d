//! Loading: built-in defaults → TOML file (`SLUICE_CONFIG`) → `SLUICE__SECTION__KEY`
//! environment variables → generated embedded secrets → validation.
//!
//! Environment values are strings (a value starting with `[` is read as a TOML array), and
//! every non-string setting accepts its string form, so `SLUICE__STORAGE__FORCE_PATH_STYLE=true`
//! and `SLUICE__PROFILES__AVATAR__MAX_SIZE=5MiB` both work.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::Settings;
use super::secrets::EmbeddedSecrets;

const ENV_PREFIX: &str = "SLUICE__";

/// Why settings could not be loaded. `Invalid` lists every problem found.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Parse(String),
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
    #[error("cannot keep generated secrets in {path}: {source}")]
    Secrets {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Loads the settings from the process environment (`SLUICE_CONFIG` and `SLUICE__…`).
pub fn load() -> Result<Settings, ConfigError> {
    let file = std::env::var_os("SLUICE_CONFIG").map(PathBuf::from);
    load_from(file.as_deref(), std::env::vars())
}

/// Loads the settings from an optional TOML file and the given environment variables.
pub fn load_from(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let tree = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            text.parse::<Table>()
                .map_err(|e| ConfigError::Parse(format!("{}: {e}", path.display())))?
        }
        None => Table::new(),
    };
    let mut settings = settle(tree, env)?;
    fill_generated_secrets(&mut settings)?;
    Ok(settings)
}

/// The layers without any I/O: a TOML text and environment variables, deserialised and
/// validated, but without the embedded secrets `load_from` generates in the data
/// directory (those left unset stay `None`). Pure, so it can be fuzzed.
pub fn from_layers(
    toml_text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let tree = toml_text
        .parse::<Table>()
        .map_err(|e| ConfigError::Parse(e.to_string()))?;
    settle(tree, env)
}

/// Environment over file, the `default` profile, deserialisation and validation.
fn settle(
    mut tree: Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    overlay_env(&mut tree, env)?;
    ensure_default_profile(&mut tree);
    // The path tracker names the offending setting (`profiles.avatar.max_size: …`).
    let mut settings: Settings =
        serde_path_to_error::deserialize(Value::Table(tree)).map_err(|e| {
            let path = e.path().to_string();
            // toml appends its own "in `…`" line; the first line is the message itself.
            let inner = e.into_inner().to_string();
            let mut message = inner.lines().next().unwrap_or_default().to_owned();
            if is_secret_path(&path) {
                message = hide_quoted(&message);
            }
            ConfigError::Parse(if path == "." {
                message
            } else {
                format!("{path}: {message}")
            })
        })?;
    let problems = super::validate::problems(&settings);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    follow_store_capabilities(&mut settings);
    Ok(settings)
}

/// Profile options left unset take what the profile's store can do: `one_time` follows
/// its `if_none_match`.
fn follow_store_capabilities(settings: &mut Settings) {
    let followed: Vec<(String, bool)> = settings
        .profiles
        .iter()
        .map(|(name, p)| (name.clone(), settings.store_of(p).if_none_match))
        .collect();
    for (name, if_none_match) in followed {
        if let Some(profile) = settings.profiles.get_mut(&name) {
            profile.one_time.get_or_insert(if_none_match);
        }
    }
}

/// Whether a dotted setting path (as `serde_path_to_error` prints it) names a secret,
/// or an element of a list of them.
fn is_secret_path(path: &str) -> bool {
    const SECRETS: &[&str] = &[
        "database.url",
        "queue.redis_url",
        "storage.secret_access_key",
        "auth.token_secret",
        "auth.service_keys",
        "auth.admin_keys",
        "audit.http_token",
        "ops.metrics_token",
    ];
    let path = path.split('[').next().unwrap_or(path);
    SECRETS.contains(&path)
        || (path.starts_with("stores.") && path.ends_with(".secret_access_key"))
        || (path.starts_with("webhooks.endpoints.") && path.ends_with(".secret"))
}

/// serde quotes the value it refused (`invalid type: string "…", expected a sequence`):
/// for a secret, that value is the secret, and the message goes to the operator's logs.
fn hide_quoted(message: &str) -> String {
    match (message.find('"'), message.rfind('"')) {
        (Some(start), Some(end)) if start < end => {
            format!("{}(value hidden){}", &message[..start], &message[end + 1..])
        }
        _ => message.to_owned(),
    }
}

fn overlay_env(
    tree: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    vars.sort();
    for (key, raw) in vars {
        let path: Vec<String> = key[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Parse(format!(
                "{key}: empty segment in the variable name"
            )));
        }
        let value = if raw.trim_start().starts_with('[') {
            format!("v = {raw}")
                .parse::<Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .ok_or_else(|| ConfigError::Parse(format!("{key}: not a TOML array")))?
        } else {
            Value::String(raw)
        };
        set_path(tree, &path, value).map_err(|e| ConfigError::Parse(format!("{key}: {e}")))?;
    }
    Ok(())
}

fn set_path(tree: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty name")?;
    let mut node = tree;
    for segment in parents {
        let entry = node
            .entry(segment.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        node = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{segment}` is not a section"))?;
    }
    node.insert(last.clone(), value);
    Ok(())
}

fn ensure_default_profile(tree: &mut Table) {
    let profiles = tree
        .entry("profiles")
        .or_insert_with(|| Value::Table(Table::new()));
    if let Some(profiles) = profiles.as_table_mut() {
        profiles
            .entry("default")
            .or_insert_with(|| Value::Table(Table::new()));
    }
}

/// Embedded mode needs secrets nobody configured: generate them once and keep them in
/// the data directory, so tokens and presigned URLs survive a restart.
fn fill_generated_secrets(settings: &mut Settings) -> Result<(), ConfigError> {
    let needs_token = settings.auth.token_secret.is_none();
    let embedded_store = settings.storage.is_embedded();
    if !needs_token && !embedded_store {
        return Ok(());
    }
    let dir = settings.server.data_dir.clone();
    let secrets = EmbeddedSecrets::load_or_create(&dir).map_err(|source| ConfigError::Secrets {
        path: dir.join(EmbeddedSecrets::FILE),
        source,
    })?;
    if needs_token {
        settings.auth.token_secret = Some(secrets.token_secret.clone());
    }
    if embedded_store {
        settings.storage.force_path_style = true;
        if settings.storage.access_key_id.is_none() {
            settings.storage.access_key_id = Some(secrets.store_access_key_id.clone());
        }
        if settings.storage.secret_access_key.is_none() {
            settings.storage.secret_access_key = Some(secrets.store_secret_access_key.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_mistyped_secret_is_not_repeated_in_the_error() {
        // Found by the `config` fuzz target: a service key given as a bare string (no
        // brackets) came back quoted in the message, which goes to the logs.
        let secret = "sk-live-very-secret-value-0123456789";
        for key in ["SLUICE__AUTH__SERVICE_KEYS", "SLUICE__AUTH__ADMIN_KEYS"] {
            let e = from_layers("", env(&[(key, secret)])).expect_err("a string is not a list");
            let message = e.to_string();
            assert!(!message.contains(secret), "{message}");
            assert!(message.contains("_keys: invalid type"), "{message}");
        }
        let e = from_layers(
            "[auth]\ntoken_secret = [\"abc-secret-in-a-list\"]",
            env(&[]),
        )
        .expect_err("a list is not a string");
        assert!(!e.to_string().contains("abc-secret"), "{e}");
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn defaults_give_embedded_mode_with_generated_secrets() {
        let dir = temp_dir();
        let s = load_from(
            None,
            env(&[("SLUICE__SERVER__DATA_DIR", dir.to_str().expect("utf8"))]),
        )
        .expect("defaults load");
        assert!(s.storage.is_embedded());
        assert!(s.storage.force_path_style);
        assert!(s.profiles.contains_key("default"));
        let first = s
            .auth
            .token_secret
            .expect("generated")
            .expose_secret()
            .to_owned();
        assert!(first.len() >= 32);
        // A second load reuses the kept secret instead of minting a new one.
        let again = load_from(
            None,
            env(&[("SLUICE__SERVER__DATA_DIR", dir.to_str().expect("utf8"))]),
        )
        .expect("reload");
        assert_eq!(
            again.auth.token_secret.expect("kept").expose_secret(),
            first
        );
    }

    #[test]
    fn env_overrides_file_and_reads_typed_strings() {
        let dir = temp_dir();
        let file = dir.join("sluice.toml");
        std::fs::write(
            &file,
            format!(
                "[server]\ndata_dir = {:?}\n[profiles.avatar]\nmax_size = \"1MiB\"\ncontent_types = [\"image/*\"]\n",
                dir.to_str().expect("utf8")
            ),
        )
        .expect("write");
        let s = load_from(
            Some(&file),
            env(&[
                ("SLUICE__PROFILES__AVATAR__MAX_SIZE", "2MiB"),
                ("SLUICE__PROFILES__AVATAR__ONE_TIME", "false"),
                ("SLUICE__AUTH__SERVICE_KEYS", "[\"service-key-0123456789\"]"),
                ("SLUICE__QUEUE__CONCURRENCY", "7"),
            ]),
        )
        .expect("loads");
        let avatar = s.profile("avatar").expect("avatar");
        assert_eq!(avatar.max_size, crate::config::ByteSize(2 * 1024 * 1024));
        assert!(!avatar.one_time());
        assert_eq!(avatar.content_types, vec!["image/*".to_string()]);
        assert_eq!(s.queue.concurrency, 7);
        assert_eq!(s.auth.service_keys.len(), 1);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = load_from(None, env(&[("SLUICE__SERVER__BINDD", "x")])).expect_err("typo");
        assert!(err.to_string().contains("bindd"), "{err}");
    }

    #[test]
    fn unreadable_values_name_their_setting() {
        let err = load_from(
            None,
            env(&[("SLUICE__PROFILES__AVATAR__MAX_SIZE", "5parsecs")]),
        )
        .expect_err("bad size");
        assert!(
            err.to_string()
                .contains("profiles.avatar.max_size: `parsecs` is not a size unit"),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = load_from(
            None,
            env(&[
                ("SLUICE__STORAGE__ENDPOINT", "ftp://nowhere"),
                ("SLUICE__AUTH__TOKEN_SECRET", "short"),
                (
                    "SLUICE__PROFILES__AVATAR__CONTENT_TYPES",
                    "[\"not a type\"]",
                ),
                ("SLUICE__PROFILES__AVATAR__UPLOAD_TTL", "0s"),
            ]),
        )
        .expect_err("invalid");
        let ConfigError::Invalid(problems) = err else {
            panic!("{err}")
        };
        let all = problems.join("\n");
        for needle in [
            "storage.endpoint",
            "storage.access_key_id",
            "auth.token_secret",
            "profiles.avatar.content_types",
            "profiles.avatar.upload_ttl",
        ] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
    }

    #[test]
    fn settings_that_would_be_ignored_are_refused() {
        let err = load_from(
            None,
            env(&[
                ("SLUICE__QUEUE__RETRY__DELETE_EVERYTHING", "[\"1s\"]"),
                ("SLUICE__QUEUE__RETRY__CLEANUP_SESSION", "[]"),
                ("SLUICE__PROFILES__AVATAR__VERIFY_TTL", "1m"),
            ]),
        )
        .expect_err("invalid");
        let ConfigError::Invalid(problems) = err else {
            panic!("{err}")
        };
        let all = problems.join("\n");
        for needle in [
            "queue.retry.delete_everything: no such job kind",
            "queue.retry.cleanup_session: list at least one delay",
            "profiles.avatar.verify_ttl: must be at least upload_ttl",
        ] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
    }

    #[test]
    fn retry_schedules_are_read_from_the_environment() {
        let dir = temp_dir();
        let s = load_from(
            None,
            env(&[
                ("SLUICE__SERVER__DATA_DIR", dir.to_str().expect("utf8")),
                ("SLUICE__QUEUE__RETRY__CLEANUP_SESSION", "[\"1s\", \"2m\"]"),
            ]),
        )
        .expect("loads");
        assert_eq!(
            s.queue.retry["cleanup_session"],
            vec![crate::config::Dur::secs(1), crate::config::Dur::secs(120)]
        );
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let dir = temp_dir();
        let s = load_from(
            None,
            env(&[
                ("SLUICE__SERVER__DATA_DIR", dir.to_str().expect("utf8")),
                (
                    "SLUICE__AUTH__TOKEN_SECRET",
                    "a-very-secret-token-secret-of-32-bytes!",
                ),
                (
                    "SLUICE__AUTH__ADMIN_KEYS",
                    "[\"admin-key-secret-0123456789\"]",
                ),
            ]),
        )
        .expect("loads");
        let shown = format!("{s:?}");
        assert!(!shown.contains("a-very-secret"), "{shown}");
        assert!(!shown.contains("admin-key-secret"), "{shown}");
        let generated = s.storage.secret_access_key.expect("generated");
        assert!(!shown.contains(generated.expose_secret()));
    }
}
